/**
 * A Prometheus configuration that scrapes a Lockgate server's `/metrics`: the demo prints it for
 * its own server, and it works unchanged with `npm start` (127.0.0.1:7070, where `/metrics` is
 * open to loopback clients). A server reached from elsewhere needs a bearer token (operator
 * role): pass it and an `authorization` block is added.
 */
export function prometheusScrapeConfig(serverUrl: string, token?: string): string {
  const url = new URL(serverUrl);
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const port = url.port === '' ? (scheme === 'https' ? '443' : '80') : url.port;
  return [
    'global:',
    '  scrape_interval: 15s',
    'rule_files:',
    '  - ops/prometheus/lockgate-rules.yaml',
    'scrape_configs:',
    '  - job_name: lockgate',
    `    scheme: ${scheme}`,
    '    metrics_path: /metrics',
    ...(token === undefined ? [] : ['    authorization:', `      credentials: ${token}`]),
    '    static_configs:',
    `      - targets: ['${url.hostname}:${port}']`,
    '',
  ].join('\n');
}
