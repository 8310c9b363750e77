import { describe, expect, it } from 'vitest';
import { formatAddCheckpoint, MalformedRequestError, parseAddCheckpoint } from './add-checkpoint.js';

const cp = 'example.com/log\n3\nRcCI1Nk56ZcSmIEfIn0SleqtV7uvrlXNccFx595Iwl0=\n\n\u2014 example.com/log AAAA\n';
const h = 'KgEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

describe('parseAddCheckpoint', () => {
  it('parses old size, proof lines and the checkpoint, and round-trips', () => {
    const body = `old 1\n${h}\n${h}\n\n${cp}`;
    const r = parseAddCheckpoint(body);
    expect(r.oldSize).toBe(1);
    expect(r.proof).toHaveLength(2);
    expect(r.checkpoint).toBe(cp);
    expect(formatAddCheckpoint(r)).toBe(body);
  });
  it('accepts an empty proof', () => {
    expect(parseAddCheckpoint(`old 0\n\n${cp}`).proof).toEqual([]);
  });
  it.each([
    ['no empty line', `old 0\n${cp.replace('\n\n', '\n')}`.replace(/\n\n/g, '\n')],
    ['leading zero', `old 01\n\n${cp}`],
    ['missing old', `${h}\n\n${cp}`],
    ['negative', `old -1\n\n${cp}`],
    ['bad hash', `old 1\nnot-base64\n\n${cp}`],
    ['short hash', `old 1\nAAAA\n\n${cp}`],
    ['too many lines', `old 1\n${`${h}\n`.repeat(64)}\n${cp}`],
    ['too large', `old 9007199254740993\n\n${cp}`],
    ['no checkpoint', `old 0\n\n`],
  ])('refuses %s', (_name, body) => {
    expect(() => parseAddCheckpoint(body)).toThrow(MalformedRequestError);
  });
  it('accepts exactly 63 proof lines', () => {
    expect(parseAddCheckpoint(`old 1\n${`${h}\n`.repeat(63)}\n${cp}`).proof).toHaveLength(63);
  });
});
