import { isPublicAddress } from '@wafleet/core';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** A webhook URL checked and resolved: requests go to `address`, never to a second resolution of the host. */
export interface ResolvedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/** The URL cannot be used: not http(s), its host does not resolve, or it resolves to a non-public address. */
export class TargetRefused extends Error {}

/** Parses a webhook URL: http or https, no more. */
export function parseTargetUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefused('url is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TargetRefused('url must be http or https');
  return url;
}

/**
 * Resolves a webhook URL's host (every address it has) and, unless `allowPrivate`, refuses it when any
 * address is loopback, private, link-local or cloud metadata. The caller connects to the address this
 * returns, so a host that resolves differently a moment later (DNS rebinding) cannot slip past the check.
 */
export async function resolveTarget(raw: string, allowPrivate: boolean): Promise<ResolvedTarget> {
  const url = parseTargetUrl(raw);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch (error) {
      throw new TargetRefused(`url's host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const blocked = addresses.find((entry) => !isPublicAddress(entry.address));
  if (blocked && !allowPrivate) {
    throw new TargetRefused(`url resolves to ${blocked.address}, which is not a public address (set WEBHOOK_ALLOW_PRIVATE=true to allow it)`);
  }
  const chosen = addresses[0];
  if (!chosen) throw new TargetRefused(`url's host ${host} has no address`);
  return { url, address: chosen.address, family: chosen.family === 6 ? 6 : 4 };
}
