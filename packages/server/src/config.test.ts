import { generateCosignatureKey } from '@tlog/merkle';
import { describe, expect, it } from 'vitest';
import { CONFIG_OPTIONS, ConfigError, ConfigSchema, DEFAULT_ORIGIN, parseConfig } from './config.js';

describe('parseConfig', () => {
  it('has working defaults with no flags and no environment', () => {
    const c = parseConfig([], {});
    expect(c).toMatchObject({ port: 8080, host: '127.0.0.1', dataDir: './data', batchIntervalMs: 0, witness: [] });
    expect(c.origin).toBeUndefined();
    expect(DEFAULT_ORIGIN).toBe('tlog.localhost/log');
  });

  it('maps every flag and its environment variable onto the same field', () => {
    const samples: Record<string, string> = {
      port: '1234',
      host: '0.0.0.0',
      dataDir: '/tmp/x',
      origin: 'example.com/log',
      keyFile: '/k',
      batchMaxEntries: '10',
      batchIntervalMs: '7',
      poolMaxEntries: '100',
      poolMaxBytes: '100000',
      maxBatchBytes: '100000',
      maxBatchEntries: '500',
      maxReceiptEntries: '50',
      tileCacheTiles: '64',
      entryCacheBytes: '0',
      witnessTimeoutMs: '9',
      logLevel: 'warn',
    };
    for (const o of CONFIG_OPTIONS) {
      const v = samples[o.key];
      if (v === undefined) continue;
      const fromFlag = parseConfig([o.flag.split(' ')[0]!, v], {});
      const fromEnv = parseConfig([], { [o.env]: v });
      expect(fromFlag[o.key], o.key).toEqual(fromEnv[o.key]);
      expect(String(fromFlag[o.key])).toBe(v);
    }
  });

  it('lets flags win over the environment and ignores empty variables', () => {
    expect(parseConfig(['--port', '1'], { PORT: '2' }).port).toBe(1);
    expect(parseConfig([], { PORT: '' }).port).toBe(8080);
  });

  it('refuses invalid values naming the flag and the variable', () => {
    expect(() => parseConfig(['--port', 'abc'], {})).toThrow(/--port \/ PORT/);
    expect(() => parseConfig([], { PORT: '70000' })).toThrow(/--port \/ PORT.*70000/);
    expect(() => parseConfig(['--origin', 'has space'], {})).toThrow(/--origin \/ LOG_ORIGIN/);
    expect(() => parseConfig(['--batch-interval-ms', '-1'], {})).toThrow(ConfigError);
    expect(() => parseConfig(['--log-level', 'loud'], {})).toThrow(/--log-level/);
    expect(() => parseConfig(['--nope'], {})).toThrow(/unknown option/);
    expect(() => parseConfig(['--witness', 'http://w.example'], {})).toThrow(/--witness \/ WITNESSES/);
    expect(() => parseConfig(['--witness-quorum', '1'], {})).toThrow(/only 0 witness/);
  });

  it('parses repeatable witnesses from flags and from one variable', () => {
    const a = generateCosignatureKey('w1.example').verifierKey;
    const b = generateCosignatureKey('w2.example').verifierKey;
    const fromFlags = parseConfig(
      ['--witness', `http://a.example/=${a}`, '--witness', `https://b.example/w=${b}`, '--witness-quorum', '1'],
      {},
    );
    expect(fromFlags.witness).toEqual([
      { url: 'http://a.example', verifierKey: a },
      { url: 'https://b.example/w', verifierKey: b },
    ]);
    expect(fromFlags.witnessQuorum).toBe(1);
    const fromEnv = parseConfig([], { WITNESSES: `http://a.example/=${a}, https://b.example/w=${b}` });
    expect(fromEnv.witness).toEqual(fromFlags.witness);
  });

  it('accepts its own output as input (createLogServer takes either)', () => {
    const c = parseConfig(['--port', '0'], {});
    expect(ConfigSchema.parse(c)).toEqual(c);
  });

  it('parses repeatable retention rules from flags and from one variable, each at least the minimum retention', () => {
    const c = parseConfig(
      ['--retention', 'days=365,tenant=acme,action=user.', '--retention', 'days=30,id=short', '--min-retention-days', '30'],
      {},
    );
    expect(c.retention).toEqual([
      { days: 365, tenant: 'acme', action_prefix: 'user.' },
      { days: 30, id: 'short' },
    ]);
    expect(c.minRetentionDays).toBe(30);
    expect(parseConfig([], { TLOG_RETENTION: 'days=365,tenant=acme,action=user.; days=30,id=short' }).retention).toEqual(c.retention);
    expect(ConfigSchema.parse(c)).toEqual(c);
    expect(parseConfig([], {})).toMatchObject({ minRetentionDays: 0, retention: [], expiryIntervalMs: 60_000, expiryRate: 200 });
    expect(parseConfig(['--expiry-interval-ms', '5000', '--expiry-rate', '10'], {})).toMatchObject({
      expiryIntervalMs: 5000,
      expiryRate: 10,
    });
    expect(() => parseConfig(['--retention', 'days=7', '--min-retention-days', '30'], {})).toThrow(
      /--retention \/ TLOG_RETENTION.*below the minimum retention of 30 days/,
    );
    expect(() => parseConfig(['--retention', 'tenant=acme'], {})).toThrow(/--retention \/ TLOG_RETENTION.*days: is required/);
    expect(() => parseConfig(['--retention', 'days=7,colour=red'], {})).toThrow(/is not a retention rule/);
  });
});
