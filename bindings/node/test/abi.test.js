// SPDX-License-Identifier: MIT
// The koffi declarations (index.js STRUCTS) against pixel.h as the C compiler sees it:
// abi_layout.json, written at build time by bindings/abi_layout.c (PIXEL_ABI_LAYOUT).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const koffi = require('koffi');

const pixel = require('..');

const layout = JSON.parse(fs.readFileSync(process.env.PIXEL_ABI_LAYOUT, 'utf8'));

test('every struct matches the C header', () => {
  assert.deepEqual(Object.keys(pixel.STRUCTS).sort(), Object.keys(layout.structs).sort());
  for (const [name, want] of Object.entries(layout.structs)) {
    const type = pixel.STRUCTS[name];
    const info = koffi.type(type);
    assert.equal(info.size, want.size, `${name} size`);
    assert.equal(info.alignment, want.align, `${name} alignment`);
    const fields = {};
    for (const [f, m] of Object.entries(info.members)) fields[f] = [m.offset, m.type.size];
    assert.deepEqual(fields, want.fields, `${name} fields: [offset, size]`);
  }
});

test('the library it loads is the ABI it was written for', () => {
  assert.equal(pixel.version(), layout.version);
  assert.equal(pixel.LIBRARY_NAME, `libpixel.so.${layout.abi}`);
});
