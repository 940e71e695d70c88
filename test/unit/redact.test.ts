// Credentials in the command lines a zone's process listing shows to viewers.
import { describe, expect, it } from 'vitest';
import { redactArgs } from '../../protocol/redact.js';

describe('redactArgs', () => {
  it.each([
    ['node /usr/bin/zonescope agent --server http://s:9080 --token zs_agent_abcDEF123-_x --node cn1', 'node /usr/bin/zonescope agent --server http://s:9080 --token <redacted> --node cn1'],
    ['zonescope agent --token=zs_agent_abc', 'zonescope agent --token=<redacted>'],
    ['zonescope agent --metrics-token s3cret', 'zonescope agent --metrics-token <redacted>'],
    ['curl -H Authorization: Bearer zs_viewer_abc http://x/api', 'curl -H Authorization: Bearer <redacted> http://x/api'],
    ['curl -H Authorization:Basic dXNlcjpwYXNz http://x', 'curl -H Authorization:Basic <redacted> http://x'],
    ['curl -H Authorization:abc http://x', 'curl -H Authorization:<redacted> http://x'],
    ['mysqld --password=hunter2 --user=root', 'mysqld --password=<redacted> --user=root'],
    ['env DB_PASSWORD=hunter2 AWS_SECRET_ACCESS_KEY=abc GITHUB_TOKEN=ghp_x API_KEY=k PATH=/bin app', 'env DB_PASSWORD=<redacted> AWS_SECRET_ACCESS_KEY=<redacted> GITHUB_TOKEN=<redacted> API_KEY=<redacted> PATH=/bin app'],
    ['app --api-key K --ssh-key-file /etc/x', 'app --api-key <redacted> --ssh-key-file /etc/x'],
    ['app password=abc', 'app password=<redacted>'],
    ['sh -c echo zs_admin_AAAAbbbb', 'sh -c echo zs_admin_<redacted>'],
  ])('%s', (input, want) => {
    expect(redactArgs(input)).toBe(want);
  });

  it('leaves ordinary command lines alone', () => {
    for (const a of ['/usr/sbin/sshd -D', 'nginx: worker process', 'node server.js --port 9080 --keyboard us', 'postgres -c max_connections=100', 'monkey=banana run']) {
      expect(redactArgs(a)).toBe(a);
    }
  });
});
