// The whole error catalogue: importing this module defines every id (for the
// docs generator and the catalogue test; code imports the file it needs).
import '../errors.js';
import './block.js';
import './array.js';
import './manager.js';
import './cli.js';
import './protocols.js';
import './pathmgr.js';
import './vvol.js';
import './conglomerates.js';
import './ha.js';
import './vsim.js';
import './backup.js';
import './console.js';
import './cluster.js';
import './ops.js';

export { catalogueIds } from '../errors.js';
