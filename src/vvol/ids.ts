// The identifier forms vSphere shows for a container, a VVOL and a PE, made
// from the array's WWN (16 hex digits) as the seed describes them (VVM
// L804-L828). Hex digits are written in lower case and read in either case.
//   container: vvol:6xxxxxx000000000-yyyyyyyyyyyyzzzz   (z: pool number, L804-L807)
//   VVOL:      naa.6xxxxxx000000000yyyyyyyyyyyyzzzz     (z: LD number, L814-L818)
//   PE:        eui.xxxxxxxxxxxxyyyy                     (x: last 12 WWN digits, y: LD number, L826-L828)
// x of the first two forms: the 5th to 10th digits of the WWN; y: its last 12.
import { ID_NUMBER_RANGE, WWN_INVALID } from '../catalogue/vvol.js';

const WWN = /^[0-9a-f]{16}$/;

export function checkWwn(wwn: string): string {
  const w = wwn.toLowerCase();
  if (!WWN.test(w)) {
    throw WWN_INVALID({ wwn: JSON.stringify(wwn).slice(0, 40) });
  }
  return w;
}

const hex4 = (n: number): string => {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) {
    throw ID_NUMBER_RANGE({ n });
  }
  return n.toString(16).padStart(4, '0');
};

/** The 5th to 10th digits (1-based) of the WWN. */
const middle = (wwn: string): string => checkWwn(wwn).slice(4, 10);
/** The last 12 digits of the WWN. */
const tail = (wwn: string): string => checkWwn(wwn).slice(-12);

export function containerId(wwn: string, pool: number): string {
  return `vvol:6${middle(wwn)}000000000-${tail(wwn)}${hex4(pool)}`;
}

export function vvolId(wwn: string, ld: number): string {
  return `naa.6${middle(wwn)}000000000${tail(wwn)}${hex4(ld)}`;
}

export function peId(wwn: string, ld: number): string {
  return `eui.${tail(wwn)}${hex4(ld)}`;
}

/** The pool number in a container id of this array, or undefined when it is not one. */
export function poolOfContainerId(wwn: string, id: string): number | undefined {
  const m = /^vvol:6([0-9a-f]{6})000000000-([0-9a-f]{12})([0-9a-f]{4})$/.exec(id.toLowerCase());
  if (!m || m[1] !== middle(wwn) || m[2] !== tail(wwn)) return undefined;
  return parseInt(m[3]!, 16);
}

/** The LD number in a VVOL id of this array, or undefined when it is not one. */
export function ldOfVvolId(wwn: string, id: string): number | undefined {
  const m = /^naa\.6([0-9a-f]{6})000000000([0-9a-f]{12})([0-9a-f]{4})$/.exec(id.toLowerCase());
  if (!m || m[1] !== middle(wwn) || m[2] !== tail(wwn)) return undefined;
  return parseInt(m[3]!, 16);
}

/** The LD number in a PE id of this array, or undefined when it is not one. */
export function ldOfPeId(wwn: string, id: string): number | undefined {
  const m = /^eui\.([0-9a-f]{12})([0-9a-f]{4})$/.exec(id.toLowerCase());
  if (!m || m[1] !== tail(wwn)) return undefined;
  return parseInt(m[2]!, 16);
}
