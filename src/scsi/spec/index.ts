// The SCSI vocabulary (T10 SAM-5, SPC-4, SBC-3) shared by the target (src/scsi),
// pathd (src/pathmgr) and the tests: opcodes, status, sense, ALUA, CDB builders
// and the parsers of the answers an initiator reads. A leaf: it imports nothing
// outside this folder.
export * from './alua.js';
export * from './cdb.js';
export * from './inquiry.js';
export * from './luns.js';
export * from './opcodes.js';
export * from './pr.js';
export * from './sbc.js';
export * from './sense.js';
export * from './status.js';
