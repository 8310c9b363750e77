import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCheckpoint, parseCheckpoint } from './checkpoint.js';
import { fromBase64, toBase64 } from './encoding.js';
import { EncodingError, MerkleArgumentError, MerkleDataError, NoteError } from './errors.js';
import { defaultHasher, type Hash } from './hash.js';
import { generateEd25519Key, parseSignerKey } from './key.js';
import { formatSignatureLine, parseNote, signNote } from './note.js';
import {
  type AddCheckpointRequest,
  formatAddCheckpoint,
  formatTlogSize,
  MAX_WITNESS_PROOF_LINES,
  parseAddCheckpoint,
  parseTlogSize,
  TLOG_SIZE_CONTENT_TYPE,
} from './witness.js';

const enc = new TextEncoder();
const signer = parseSignerKey(generateEd25519Key('example.com/log', new Uint8Array(32).fill(5)).signerKey);
const root = defaultHasher.hashLeaf(enc.encode('root'));
const checkpointOf = (size: number): string =>
  signNote(formatCheckpoint({ origin: 'example.com/log', size, root, extensions: [] }), [signer]);
const cp = checkpointOf(3);
const h = 'KgEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

// The example request and response bodies of C2SP tlog-witness.md, verbatim.
const SPEC_REQUEST = `old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
`;
const SPEC_RESPONSE = `— witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==
— witness.example/w1 I7rEps0pvK2UqkS2gSpVUDhrhVtQV9lgF6pRrWAvjJHjyWpW7VcE3SiOlVlbQNt64vWhO+DlkL0+UfzuOBMh9ChdMkP1vi/lCAsmlw==
— witness.example/w2 AWui8Sk55XjYLOijihBjhqEH6nS1ndDymE0a+6idX7pLcnoB+dhnz0854aLZgrrKbYKA7nC3HNJhm/kWl7oJlqU3rXXvpysAdyP3wQ==
`;

describe('parseAddCheckpoint', () => {
  it('parses old size, proof lines and the checkpoint, and round-trips', () => {
    const body = `old 1\n${h}\n${h}\n\n${cp}`;
    const r = parseAddCheckpoint(body);
    expect(r.oldSize).toBe(1);
    expect(r.proof.map(toBase64)).toEqual([h, h]);
    expect(r.checkpoint).toBe(cp);
    expect(formatAddCheckpoint(r)).toBe(body);
    expect(parseAddCheckpoint(enc.encode(body))).toEqual(r);
  });

  it('parses the tlog-witness spec example exactly, and formats it back byte for byte', () => {
    const r = parseAddCheckpoint(SPEC_REQUEST);
    expect(r.oldSize).toBe(20852014);
    expect(r.proof.map(toBase64)).toEqual(SPEC_REQUEST.split('\n').slice(1, 5));
    expect(r.checkpoint).toBe(SPEC_REQUEST.slice(SPEC_REQUEST.indexOf('example.com/behind-the-sofa')));
    expect(parseNote(r.checkpoint).signatures).toHaveLength(2);
    expect(formatAddCheckpoint(r)).toBe(SPEC_REQUEST);
  });

  it('accepts an empty proof, and exactly 63 proof lines', () => {
    expect(parseAddCheckpoint(`old 0\n\n${cp}`).proof).toEqual([]);
    expect(parseAddCheckpoint(`old 3\n\n${cp}`).oldSize).toBe(3);
    expect(parseAddCheckpoint(`old 1\n${`${h}\n`.repeat(MAX_WITNESS_PROOF_LINES)}\n${cp}`).proof).toHaveLength(63);
  });

  it.each([
    ['no empty line', `old 0\n${cp.replace('\n\n', '\n')}`],
    ['leading zero', `old 01\n\n${cp}`],
    ['missing old', `${h}\n\n${cp}`],
    ['old without a size', `old\n\n${cp}`],
    ['two spaces', `old  1\n\n${cp}`],
    ['trailing space', `old 1 \n\n${cp}`],
    ['capital', `Old 1\n\n${cp}`],
    ['negative', `old -1\n\n${cp}`],
    ['plus sign', `old +1\n\n${cp}`],
    ['CRLF', `old 1\r\n${h}\r\n\r\n${cp}`],
    ['bad hash', `old 1\nnot-base64\n\n${cp}`],
    ['short hash', `old 1\nAAAA\n\n${cp}`],
    ['33-byte hash', `old 1\n${toBase64(new Uint8Array(33))}\n\n${cp}`],
    ['non-canonical base64', `old 1\n${h.replace('A=', 'B=')}\n\n${cp}`],
    ['unpadded base64', `old 1\n${h.slice(0, -1)}\n\n${cp}`],
    ['too many lines', `old 1\n${`${h}\n`.repeat(64)}\n${cp}`],
    ['too large', `old 9007199254740993\n\n${cp}`],
    ['old size beyond the checkpoint', `old 4\n\n${cp}`],
    ['no checkpoint', 'old 0\n\n'],
    ['nothing', ''],
  ])('refuses %s with EncodingError', (_name, body) => {
    expect(() => parseAddCheckpoint(body)).toThrow(EncodingError);
  });

  it('refuses invalid UTF-8 bytes with EncodingError', () => {
    const bytes = enc.encode(`old 0\n\n${cp}`);
    expect(() => parseAddCheckpoint(Uint8Array.of(...bytes.subarray(0, 8), 0xff, ...bytes.subarray(8)))).toThrow(EncodingError);
  });

  it('refuses a checkpoint that is not a signed note, or whose text is not a checkpoint, with NoteError', () => {
    expect(() => parseAddCheckpoint(`old 0\n\nexample.com/log\n3\n${toBase64(root)}\n`)).toThrow(NoteError);
    expect(() => parseAddCheckpoint(`old 0\n\n${signNote('just some text\n', [signer])}`)).toThrow(NoteError);
    expect(() => parseAddCheckpoint(`old 0\n\n${cp.replace('\n3\n', '\n03\n')}`)).toThrow(NoteError);
  });

  it('never crashes on edited bodies: a parse or a MerkleDataError', () => {
    const sample = `old 1\n${h}\n${h}\n\n${cp}`;
    fc.assert(
      fc.property(
        fc.nat(sample.length),
        fc.nat(6),
        fc.oneof(fc.constantFrom('\n', '\n\n', ' ', '=', '0', '\r', 'old '), fc.string({ maxLength: 3 })),
        (at, del, ins) => {
          const body = sample.slice(0, at) + ins + sample.slice(at + del);
          let r: AddCheckpointRequest;
          try {
            r = parseAddCheckpoint(body);
          } catch (e) {
            if (!(e instanceof MerkleDataError)) throw e;
            return;
          }
          // Whatever parses formats back to itself, unless it breaks a rule only the sender must keep.
          const size = parseCheckpoint(parseNote(r.checkpoint).text).size;
          if ((r.oldSize === 0 || r.oldSize === size) && r.proof.length > 0)
            expect(() => formatAddCheckpoint(r)).toThrow(MerkleArgumentError);
          else expect(formatAddCheckpoint(r)).toBe(body);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('formatAddCheckpoint', () => {
  const hash = fromBase64(h);

  it('round-trips any valid request', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.nat(), fc.integer({ min: 0, max: MAX_WITNESS_PROOF_LINES }), (size, a, n) => {
        const oldSize = a % (size + 1);
        const proof: Hash[] =
          oldSize === 0 || oldSize === size ? [] : Array.from({ length: n }, (_, i) => defaultHasher.hashLeaf(Uint8Array.of(i)));
        const req: AddCheckpointRequest = { oldSize, proof, checkpoint: checkpointOf(size) };
        const body = formatAddCheckpoint(req);
        expect(body.startsWith(`old ${oldSize}\n`)).toBe(true);
        const back = parseAddCheckpoint(body);
        expect(back.oldSize).toBe(oldSize);
        expect(back.proof.map(toBase64)).toEqual(proof.map(toBase64));
        expect(back.checkpoint).toBe(req.checkpoint);
      }),
      { numRuns: 100 },
    );
  });

  it.each([
    ['a negative old size', { oldSize: -1, proof: [], checkpoint: cp }],
    ['an unsafe old size', { oldSize: 2 ** 53, proof: [], checkpoint: cp }],
    ['an old size beyond the checkpoint', { oldSize: 4, proof: [], checkpoint: cp }],
    ['a proof from size 0', { oldSize: 0, proof: [hash], checkpoint: cp }],
    ['a proof between equal sizes', { oldSize: 3, proof: [hash], checkpoint: cp }],
    ['64 proof hashes', { oldSize: 1, proof: Array(64).fill(hash), checkpoint: cp }],
    ['a 31-byte hash', { oldSize: 1, proof: [hash.subarray(1)], checkpoint: cp }],
    ['a checkpoint that is not a signed note', { oldSize: 0, proof: [], checkpoint: 'example.com/log\n3\n' }],
    ['a signed note that is not a checkpoint', { oldSize: 0, proof: [], checkpoint: signNote('hello\n', [signer]) }],
  ] as [string, AddCheckpointRequest][])('refuses %s with MerkleArgumentError', (_name, req) => {
    expect(() => formatAddCheckpoint(req)).toThrow(MerkleArgumentError);
  });
});

describe('cosignature lines (the 200 answer)', () => {
  it('formatSignatureLine reproduces the spec example response line by line', () => {
    const text = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    const sigs = parseNote(`${text}\n${SPEC_RESPONSE}`).signatures;
    expect(sigs.map((s) => s.name)).toEqual(['witness.example/w1', 'witness.example/w1', 'witness.example/w2']);
    expect(sigs.map(formatSignatureLine).join('')).toBe(SPEC_RESPONSE);
    expect(formatSignatureLine(sigs[0]!).startsWith('\u2014 witness.example/w1 ')).toBe(true);
  });
});

describe('text/x.tlog.size (the 409 answer)', () => {
  it('formats and parses the size followed by a newline', () => {
    expect(TLOG_SIZE_CONTENT_TYPE).toBe('text/x.tlog.size');
    expect(formatTlogSize(0)).toBe('0\n');
    expect(formatTlogSize(20852014)).toBe('20852014\n');
    expect(parseTlogSize('0\n')).toBe(0);
    expect(parseTlogSize('50\n')).toBe(50);
    expect(parseTlogSize(enc.encode('9007199254740991\n'))).toBe(Number.MAX_SAFE_INTEGER);
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        expect(parseTlogSize(formatTlogSize(n))).toBe(n);
      }),
    );
    expect(() => formatTlogSize(-1)).toThrow(MerkleArgumentError);
    expect(() => formatTlogSize(1.5)).toThrow(MerkleArgumentError);
  });

  it.each([
    '',
    '\n',
    '50',
    '050\n',
    '50\n\n',
    ' 50\n',
    '50 \n',
    '-1\n',
    '+5\n',
    '5 0\n',
    '50\r\n',
    '0x10\n',
    '9007199254740992\n',
    'fifty\n',
  ])('refuses %j with EncodingError', (body) => {
    expect(() => parseTlogSize(body)).toThrow(EncodingError);
  });
});
