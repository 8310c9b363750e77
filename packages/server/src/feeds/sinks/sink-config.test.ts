/** The sinks file: defaults, every type, and refusals that name the sink and the field without repeating a secret. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../config.js';
import { LOG_AUDIT_FACILITY, loadSinksFile, parseSinksConfig } from './sink-config.js';

const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const TOKEN = '8a4c1f8e-2b7d-4f0a-9c3e-5d6b7a8f9e01';
const webhook = { name: 'siem', type: 'webhook', url: 'https://siem.example/hook', secret: SECRET };

/** The ConfigError message of parsing `value`, or fails. */
function refusal(value: unknown): string {
  try {
    parseSinksConfig(value);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseSinksConfig', () => {
  it('fills in the defaults', () => {
    expect(parseSinksConfig({ sinks: [webhook] })).toEqual([
      {
        ...webhook,
        format: 'ndjson',
        filter: {},
        batch: { maxEvents: 100, maxMs: 1000 },
        retry: { initialMs: 500, maxMs: 60_000, deadAfterMs: 3_600_000 },
        timeoutMs: 10_000,
        from: 'start',
      },
    ]);
    expect(parseSinksConfig({ sinks: [] })).toEqual([]);
  });

  it('takes every type with its own fields', () => {
    const [hec, syslog, v6] = parseSinksConfig({
      sinks: [
        {
          name: 'splunk',
          type: 'splunk-hec',
          url: 'https://splunk.example:8088',
          token: TOKEN,
          index: 'audit',
          format: 'ocsf',
          from: 'now',
        },
        { name: 'rsyslog', type: 'syslog', address: 'tcp://logs.example:6514', appName: 'tlog-prod', hostname: 'tlog-1', facility: 10 },
        { name: 'v6', type: 'syslog', address: 'tcp://[::1]:514' },
      ],
    });
    expect(hec).toMatchObject({ type: 'splunk-hec', token: TOKEN, index: 'audit', sourcetype: 'tlog:ocsf', format: 'ocsf', from: 'now' });
    expect(syslog).toMatchObject({
      type: 'syslog',
      host: 'logs.example',
      port: 6514,
      appName: 'tlog-prod',
      hostname: 'tlog-1',
      facility: 10,
    });
    expect(v6).toMatchObject({ host: '::1', port: 514, appName: 'tlog', facility: LOG_AUDIT_FACILITY });
  });

  it("validates the filter and forces the sink's tenant into it", () => {
    const [s] = parseSinksConfig({ sinks: [{ ...webhook, tenant: 'acme', filter: { action: 'user.*', outcome: 'failure' } }] });
    expect(s!.filter).toEqual({ action: 'user.*', outcome: 'failure', tenant: 'acme' });
    expect(refusal({ sinks: [{ ...webhook, filter: { action: 'Bad Action' } }] })).toMatch(
      /sink "siem" \(sinks\[0\]\): filter\.action: must be an action/,
    );
    expect(refusal({ sinks: [{ ...webhook, filter: { colour: 'red' } }] })).toMatch(
      /sink "siem" \(sinks\[0\]\): filter\.colour: is not a search filter/,
    );
    expect(refusal({ sinks: [{ ...webhook, tenant: 'acme', filter: { tenant: 'globex' } }] })).toMatch(
      /filter\.tenant: differs from the sink's tenant/,
    );
  });

  it('names the sink and the field of each refusal', () => {
    const cases: [unknown, RegExp][] = [
      [[], /must hold a JSON object \{"sinks": \[\.\.\.\]\}/],
      [{ sinks: {} }, /"sinks" must be an array/],
      [{ sinks: [], extra: 1 }, /unknown field "extra"/],
      [{ sinks: [{ ...webhook, type: 'kafka' }] }, /sink "siem" \(sinks\[0\]\): type: must be one of webhook, splunk-hec, syslog/],
      [{ sinks: [{ type: 'webhook', url: 'https://x.example', secret: SECRET }] }, /sinks\[0\]: name: is required/],
      [{ sinks: [{ ...webhook, name: 'a b' }] }, /name: must be 1\.\.64 letters/],
      [{ sinks: [{ ...webhook, url: 'ftp://x.example/' }] }, /sink "siem" \(sinks\[0\]\): url: must be an http or https URL/],
      [{ sinks: [{ ...webhook, url: 'https://u:p@x.example/' }] }, /url: must not hold credentials/],
      [{ sinks: [{ ...webhook, batch: { maxEvents: 0 } }] }, /sink "siem" \(sinks\[0\]\): batch\.maxEvents: /],
      [{ sinks: [{ ...webhook, retry: { initialMs: 5000, maxMs: 1000 } }] }, /retry\.initialMs: is 5000, above retry\.maxMs \(1000\)/],
      [{ sinks: [{ ...webhook, format: 'xml' }] }, /format: must be one of ndjson, cloudevents, ocsf/],
      [{ sinks: [{ ...webhook, from: 'yesterday' }] }, /from: must be "start" or "now"/],
      [{ sinks: [{ ...webhook, colour: 'red' }] }, /sink "siem" \(sinks\[0\]\): unknown field "colour"/],
      [
        { sinks: [webhook, { ...webhook, url: 'https://other.example/' }] },
        /sink "siem" \(sinks\[1\]\): name: another sink is named "siem"/,
      ],
      [{ sinks: [{ name: 'h', type: 'splunk-hec', url: 'https://s.example' }] }, /sink "h" \(sinks\[0\]\): token: is required/],
      [
        { sinks: [{ name: 's', type: 'syslog', address: 'udp://l.example:514' }] },
        /sink "s" \(sinks\[0\]\): address: must be tcp:\/\/host:port/,
      ],
      [{ sinks: [{ name: 's', type: 'syslog', address: 'tcp://l.example:70000' }] }, /address: the port must be 1\.\.65535/],
      [{ sinks: [{ name: 's', type: 'syslog', address: 'tcp://l.example:514', facility: 24 }] }, /facility: /],
      [{ sinks: [{ name: 's', type: 'syslog', address: 'tcp://l.example:514', appName: 'a'.repeat(49) }] }, /appName: must be at most 48/],
    ];
    for (const [value, message] of cases) expect(refusal(value)).toMatch(message);
  });

  it('refuses a weak or malformed webhook secret, and a bad token, without repeating them', () => {
    for (const secret of ['whsec_c2hvcnQ=', 'not base64 at all!', `whsec_${Buffer.alloc(65).toString('base64')}`]) {
      const message = refusal({ sinks: [{ ...webhook, secret }] });
      expect(message).toMatch(
        /sink "siem" \(sinks\[0\]\): secret: must be whsec_ followed by the standard base64 of a 24\.\.64-byte random key/,
      );
      expect(message).not.toContain(secret);
    }
    const token = 'has a space secret-ish';
    const message = refusal({ sinks: [{ name: 'h', type: 'splunk-hec', url: 'https://s.example', token }] });
    expect(message).toMatch(/token: must be visible ASCII/);
    expect(message).not.toContain(token);
    // The prefix may be left out.
    expect(parseSinksConfig({ sinks: [{ ...webhook, secret: SECRET.slice(6) }] })).toHaveLength(1);
  });
});

describe('loadSinksFile and --sinks-file', () => {
  it('reads the file named by --sinks-file or TLOG_SINKS_FILE', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlog-sinks-config-'));
    const path = join(dir, 'sinks.json');
    await writeFile(path, JSON.stringify({ sinks: [webhook] }));
    expect(parseConfig(['--sinks-file', path], {}).sinksFile).toBe(path);
    expect(parseConfig([], { TLOG_SINKS_FILE: path }).sinksFile).toBe(path);
    expect((await loadSinksFile(path)).map((s) => s.name)).toEqual(['siem']);
  });

  it('says where JSON is broken without quoting the file, and names a missing file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlog-sinks-config-'));
    const path = join(dir, 'sinks.json');
    await writeFile(path, `{"sinks":[{"name":"siem","type":"webhook","secret":"${SECRET}" "url":"x"}]}`);
    const err = (await loadSinksFile(path).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/sinks\.json \(--sinks-file \/ TLOG_SINKS_FILE\) is not valid JSON/);
    expect(err.message).not.toContain(SECRET.slice(6, 20));
    const missing = (await loadSinksFile(join(dir, 'none.json')).catch((e: unknown) => e)) as Error;
    expect(missing).toBeInstanceOf(ConfigError);
    expect(missing.message).toMatch(/cannot read the sinks file .*none\.json.*ENOENT/);
  });
});
