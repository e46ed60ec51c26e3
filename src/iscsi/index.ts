// The iSCSI front end's public face: the target server the array runs, and the
// pieces (codec, negotiation, CHAP, initiator) other layers and tests reuse.
export { IscsiTargetServer } from './server.js';
export type { IscsiTargetServerOptions, SessionInfo } from './server.js';
export type { PortalConfig, ScsiExecutor } from './types.js';
export type { ChapConfig } from './chap.js';
export { DEFAULT_OFFERS } from './params.js';
export type { TargetOffers } from './params.js';
export { crc32c } from './crc32c.js';
export { IscsiInitiator, IscsiRejectError } from './initiator.js';
export type { CommandOptions, CommandResult, LoginOptions, LoginResult } from './initiator.js';
