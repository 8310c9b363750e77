import { describe, expect, it } from 'vitest';
import { fileSlug } from './file-slug.js';

describe('fileSlug', () => {
  it('is file-name safe and distinguishes origins that sanitize alike', () => {
    const a = fileSlug('example.com/log a');
    const b = fileSlug('example.com/log_a');
    expect(a).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(a).not.toBe(b);
    expect(fileSlug('example.com/log a')).toBe(a);
  });
});
