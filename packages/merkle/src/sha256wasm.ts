import { fromBase64 } from './encoding.js';
import { SHA256_WASM_BASE64 } from './generated/sha256-wasm.js';
import { checkHashOutput, pairCount, SHA256_SIZE, type Sha256Kernel } from './sha256kernel.js';

/** The kernel's exports (wasm/sha256.ts). */
interface KernelExports {
  readonly memory: WebAssembly.Memory;
  /** Start of the I/O region the JavaScript side lays out. */
  ioBase(): number;
  /** SHA-256 of n messages listed in table as (pointer, length) u32 pairs; digest i to out + 32i. */
  hashMany(table: number, n: number, out: number): void;
  /** SHA-256(0x01 || pair i) of n 64-byte pairs from pairs; digest i to out + 32i. */
  hashNodes(pairs: number, n: number, out: number): void;
  /** SHA-256 of the one message memory[ptr, ptr + len) by the scalar path; digest to out. */
  hashOne(ptr: number, len: number, out: number): void;
}

/** Most messages per kernel call: the per-call table and output stay small. */
const MAX_MESSAGES_PER_CALL = 4096;
/** Most message bytes per kernel call (a single larger message is hashed alone). Bounds the memory a batch grows. */
const MAX_BYTES_PER_CALL = 1 << 20;
/** The kernel computes lanes in groups of four: the last group's unused lanes read and write up to three items more. */
const LANES = 4;
const PAGE = 65536;

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/**
 * The WebAssembly SIMD kernel (wasm/sha256.ts), one instance with its own memory. Calls copy the
 * inputs into that memory in chunks of at most 4096 messages and 1 MiB, and the digests out; the
 * memory grows to fit a chunk (or the largest single message) and is kept for the next call.
 * It never calls back into JavaScript, so one instance is safe to share.
 */
class WasmSha256Kernel implements Sha256Kernel {
  readonly name = 'wasm-simd';
  readonly #exports: KernelExports;
  readonly #io: number;
  #bytes: Uint8Array;
  #view: DataView;

  constructor(exports: KernelExports) {
    this.#exports = exports;
    this.#io = exports.ioBase();
    this.#bytes = new Uint8Array(exports.memory.buffer);
    this.#view = new DataView(exports.memory.buffer);
  }

  sha256(data: Uint8Array): Uint8Array {
    // One message takes the scalar path: about 0.78 of the cost of a four-lane pass with three
    // idle lanes. Layout: the digest, then the message.
    const out = this.#io;
    const at = out + SHA256_SIZE;
    this.#reserve(at + data.length);
    this.#bytes.set(data, at);
    this.#exports.hashOne(at, data.length, out);
    return this.#bytes.slice(out, out + SHA256_SIZE);
  }

  leafHashes(entries: readonly Uint8Array[], out: Uint8Array, outOffset = 0): void {
    checkHashOutput(out, outOffset, entries.length);
    for (let start = 0; start < entries.length; ) {
      // A chunk: at least one entry, then as many as fit the limits.
      let end = start + 1;
      let bytes = 1 + entries[start]!.length;
      while (end < entries.length && end - start < MAX_MESSAGES_PER_CALL && bytes + 1 + entries[end]!.length <= MAX_BYTES_PER_CALL) {
        bytes += 1 + entries[end]!.length;
        end++;
      }
      const count = end - start;
      // Layout: table (8 bytes a message), digests (rounded up to whole lane groups), messages.
      const table = this.#io;
      const digests = table + roundUp(8 * count, 16);
      let at = digests + roundUp(count, LANES) * SHA256_SIZE;
      this.#reserve(at + bytes);
      const mem = this.#bytes;
      const view = this.#view;
      for (let i = 0; i < count; i++) {
        const entry = entries[start + i]!;
        view.setUint32(table + 8 * i, at, true);
        view.setUint32(table + 8 * i + 4, 1 + entry.length, true);
        mem[at] = 0;
        mem.set(entry, at + 1);
        at += 1 + entry.length;
      }
      this.#exports.hashMany(table, count, digests);
      out.set(mem.subarray(digests, digests + count * SHA256_SIZE), outOffset + start * SHA256_SIZE);
      start = end;
    }
  }

  nodeHashes(pairs: Uint8Array, out: Uint8Array, outOffset = 0): void {
    const n = pairCount(pairs);
    checkHashOutput(out, outOffset, n);
    for (let start = 0; start < n; start += MAX_MESSAGES_PER_CALL) {
      const count = Math.min(MAX_MESSAGES_PER_CALL, n - start);
      // Layout: the pairs, 16 bytes in (the kernel reads the byte before them), rounded up to
      // whole lane groups, then the digests likewise.
      const at = this.#io + 16;
      const digests = at + roundUp(count, LANES) * 2 * SHA256_SIZE;
      this.#reserve(digests + roundUp(count, LANES) * SHA256_SIZE);
      this.#bytes.set(pairs.subarray(start * 2 * SHA256_SIZE, (start + count) * 2 * SHA256_SIZE), at);
      this.#exports.hashNodes(at, count, digests);
      out.set(this.#bytes.subarray(digests, digests + count * SHA256_SIZE), outOffset + start * SHA256_SIZE);
    }
  }

  /** Grows the memory so that addresses below end exist (growing detaches the old views). */
  #reserve(end: number): void {
    const memory = this.#exports.memory;
    if (end <= this.#bytes.length) return;
    memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE));
    this.#bytes = new Uint8Array(memory.buffer);
    this.#view = new DataView(memory.buffer);
  }
}

/** The kernel's exports, checked to be what wasm/sha256.ts exports. */
function kernelExports(instance: WebAssembly.Instance): KernelExports | undefined {
  const { memory, ioBase, hashMany, hashNodes, hashOne } = instance.exports;
  if (
    !(memory instanceof WebAssembly.Memory) ||
    typeof ioBase !== 'function' ||
    typeof hashMany !== 'function' ||
    typeof hashNodes !== 'function' ||
    typeof hashOne !== 'function'
  ) {
    return undefined;
  }
  return {
    memory,
    ioBase: ioBase as () => number,
    hashMany: hashMany as KernelExports['hashMany'],
    hashNodes: hashNodes as KernelExports['hashNodes'],
    hashOne: hashOne as KernelExports['hashOne'],
  };
}

/**
 * A new WebAssembly SIMD SHA-256 kernel (4 messages per SIMD lane group, a scalar path for one
 * message alone), compiled synchronously from the bytes shipped in this package (3.9 KiB, under
 * the 4 KiB limit older Chrome sets on synchronous compilation on the main thread). Each call compiles and instantiates a fresh instance with its
 * own memory: keep the result (a Hasher keeps its kernel). Returns undefined where it cannot run:
 * no WebAssembly, no SIMD (the module does not validate), or compilation refused (a Content
 * Security Policy without 'wasm-unsafe-eval').
 */
export function wasmSha256Kernel(): Sha256Kernel | undefined {
  if (typeof WebAssembly !== 'object') return undefined;
  // fromBase64 allocates a fresh (never shared) ArrayBuffer: the cast is exact.
  const bytes = fromBase64(SHA256_WASM_BASE64) as Uint8Array<ArrayBuffer>;
  try {
    if (!WebAssembly.validate(bytes)) return undefined;
    const exports = kernelExports(new WebAssembly.Instance(new WebAssembly.Module(bytes), {}));
    return exports === undefined ? undefined : new WasmSha256Kernel(exports);
  } catch {
    // CompileError or RangeError: the embedder refuses to compile; the caller falls back.
    return undefined;
  }
}
