// pixel: CloudFront Function (cloudfront-js-2.0, viewer request) that lets through only
// pixel hits signed with the pixel-sig-v1 format (docs/signing.md) by a key in the
// distribution's KeyValueStore (key id -> base64 key). Anything else gets 403, which the
// real-time log still records with sc-status 403.
// SPDX-License-Identifier: MIT
import cf from 'cloudfront';
import crypto from 'crypto';

const kvs = cf.kvs();
// Seconds a URL is still accepted after its exp (clock differences).
const LEEWAY = 300;
const FORBIDDEN = { statusCode: 403, statusDescription: 'Forbidden' };

// The SDK's encoding: every byte outside A-Z a-z 0-9 - . _ ~ as %XX (uppercase).
function enc(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

// Query values may come raw or decoded: decode what decodes, then encode the SDK's way.
function canon(s) {
  let d = s;
  try {
    d = decodeURIComponent(s);
  } catch (e) {
    // Not an escape sequence: the text is already decoded.
  }
  return enc(d);
}

function forbidden() {
  return FORBIDDEN;
}

async function handler(event) {
  const request = event.request;
  const qs = request.querystring || {};
  const pairs = [];
  const fields = {};
  const counts = { kid: 0, exp: 0, sig: 0 };
  try {
    for (const name in qs) {
      const entry = qs[name];
      const values = entry.multiValue ? entry.multiValue : [entry];
      const key = canon(name);
      for (const v of values) {
        const value = v.value === undefined || v.value === null ? '' : String(v.value);
        if (key === 'kid' || key === 'exp' || key === 'sig') {
          counts[key] += 1;
          fields[key] = decodeURIComponent(value);
          if (key === 'sig') continue;
        }
        pairs.push(key + '=' + canon(value));
      }
    }
  } catch (e) {
    return forbidden();  // a key or value that is not UTF-8 text was never signed
  }
  if (counts.kid !== 1 || counts.exp !== 1 || counts.sig !== 1) return forbidden();
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(fields.kid) || !/^[0-9]{1,19}$/.test(fields.exp) ||
      fields.sig.length !== 43) {
    return forbidden();
  }
  let keyText;
  try {
    keyText = await kvs.get(fields.kid);
  } catch (e) {
    return forbidden();  // unknown key id
  }
  if (!keyText) return forbidden();
  const key = Buffer.from(String(keyText).trim().replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  pairs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));  // ASCII only: code units are bytes
  const toSign = 'pixel-sig-v1\n' + request.uri + '\n' + pairs.join('&');
  const expected = crypto.createHmac('sha256', key).update(toSign).digest('base64url');
  let diff = expected.length ^ fields.sig.length;
  for (let i = 0; i < expected.length; i++) {
    diff |= expected.charCodeAt(i) ^ fields.sig.charCodeAt(i);
  }
  if (diff !== 0) return forbidden();
  if (Number(fields.exp) + LEEWAY < Math.floor(Date.now() / 1000)) return forbidden();
  return request;
}
