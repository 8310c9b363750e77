/** crc-32's CRC-32C (Castagnoli) module (CommonJS), which its package types do not cover. */
declare module 'crc-32/crc32c.js' {
  const crc32c: {
    /** CRC-32C of data, continuing from `seed` (a previous result) when given; a signed 32-bit integer. */
    buf(data: Uint8Array, seed?: number): number;
  };
  export default crc32c;
}
