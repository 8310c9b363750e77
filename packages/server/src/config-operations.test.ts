import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.js';

describe('parseConfig: TLS and metrics', () => {
  it('takes the certificate and key from flags or the environment, both or neither', () => {
    expect(parseConfig(['--tls-cert', 'c.pem', '--tls-key', 'k.pem'], {})).toMatchObject({ tlsCert: 'c.pem', tlsKey: 'k.pem' });
    expect(parseConfig([], { TLOG_TLS_CERT: 'c.pem', TLOG_TLS_KEY: 'k.pem' })).toMatchObject({ tlsCert: 'c.pem', tlsKey: 'k.pem' });
    const plain = parseConfig([], {});
    expect(plain.tlsCert).toBeUndefined();
    expect(plain.tlsKey).toBeUndefined();
    expect(() => parseConfig(['--tls-cert', 'c.pem'], {})).toThrow(/--tls-cert \/ TLOG_TLS_CERT.*without --tls-key \/ TLOG_TLS_KEY/);
    expect(() => parseConfig([], { TLOG_TLS_KEY: 'k.pem' })).toThrow(/--tls-key \/ TLOG_TLS_KEY.*without --tls-cert/);
  });

  it('reads --metrics-public as a flag and TLOG_METRICS_PUBLIC as 1/true/0/false', () => {
    expect(parseConfig([], {}).metricsPublic).toBe(false);
    expect(parseConfig(['--metrics-public'], {}).metricsPublic).toBe(true);
    expect(parseConfig([], { TLOG_METRICS_PUBLIC: '1' }).metricsPublic).toBe(true);
    expect(parseConfig([], { TLOG_METRICS_PUBLIC: 'true' }).metricsPublic).toBe(true);
    expect(parseConfig([], { TLOG_METRICS_PUBLIC: '0' }).metricsPublic).toBe(false);
    expect(parseConfig([], { TLOG_METRICS_PUBLIC: 'false' }).metricsPublic).toBe(false);
    expect(parseConfig(['--metrics-public'], { TLOG_METRICS_PUBLIC: '0' }).metricsPublic).toBe(true);
    expect(() => parseConfig([], { TLOG_METRICS_PUBLIC: 'yes' })).toThrow(ConfigError);
    expect(() => parseConfig([], { TLOG_METRICS_PUBLIC: 'yes' })).toThrow(/--metrics-public \/ TLOG_METRICS_PUBLIC.*1, true, 0 or false/);
    expect(() => parseConfig(['--metrics-public', 'x'], {})).toThrow(ConfigError);
  });
});
