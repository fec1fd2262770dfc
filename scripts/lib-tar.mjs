// @ts-check
/**
 * Reads one file out of an npm tarball (.tgz) in memory.
 *
 * Owns only the ustar reading that provisioning needs for verification-only packages fetched with `npm pack`
 * (packages that `npm install` cannot install). It never writes outside what its caller asks for and never
 * interprets link entries: a symlink or hard link inside a tarball is refused, not followed.
 */
import { gunzipSync } from 'node:zlib';

/**
 * @param {Uint8Array} header 512-byte ustar header
 * @param {number} start
 * @param {number} length
 */
function field(header, start, length) {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return new TextDecoder().decode(end === -1 ? raw : raw.subarray(0, end));
}

/**
 * Returns the bytes of `wanted` (a path inside the tarball, e.g. `package/ONNX/model.onnx`).
 * @param {Uint8Array} tgz gzip-compressed tar
 * @param {string} wanted
 * @returns {Uint8Array}
 */
export function extractFromTgz(tgz, wanted) {
  const tar = gunzipSync(tgz);
  let pos = 0;
  /** @type {string | null} pax extended-header path for the next entry (long names) */
  let paxPath = null;
  while (pos + 512 <= tar.length) {
    const header = tar.subarray(pos, pos + 512);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const prefix = field(header, 345, 155);
    const name = paxPath ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    const body = tar.subarray(pos + 512, pos + 512 + size);
    pos += 512 + Math.ceil(size / 512) * 512;
    paxPath = null;
    if (type === 'x') {
      // pax header: "len key=value\n" records; only `path` matters here.
      const m = /\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(body));
      paxPath = m?.[1] ?? null;
      continue;
    }
    if (name !== wanted) continue;
    if (type !== '0' && type !== '\0') throw new Error(`${wanted} in the tarball is not a regular file (type ${type})`);
    return body.slice();
  }
  throw new Error(`${wanted} not found in the tarball`);
}
