// Console sessions on a clock the test moves: idle expiry, absolute lifetime,
// logout, the cap on sessions (the oldest goes), ids and CSRF tokens that are
// random and distinct, and ids of the wrong shape never looked up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionStore } from '../../src/console/sessions.js';

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('a session ends after its idle time, but use keeps it alive until its lifetime ends', () => {
  const c = clock();
  const s = new SessionStore({ idleMs: 1000, lifetimeMs: 5000 }, c.now);
  const ended: string[] = [];
  s.onEnd((k) => ended.push(k));
  const a = s.create();
  for (let i = 0; i < 4; i++) {
    c.advance(900);
    assert.equal(s.get(a.id)?.key, a.session.key, `still live after ${(i + 1) * 900} ms of use`);
  }
  c.advance(1500);
  assert.equal(s.get(a.id), undefined, 'past the lifetime, use or not');
  assert.deepEqual(ended, [a.session.key]);
  const b = s.create();
  c.advance(1001);
  assert.equal(s.get(b.id), undefined, 'idle too long');
});

test('logout ends a session; ids and CSRF tokens are random, distinct and not the key', () => {
  const s = new SessionStore();
  const a = s.create();
  const b = s.create();
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.session.csrf, b.session.csrf);
  assert.match(a.id, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a.session.key, a.id, 'the store keeps a hash, not the id');
  s.destroy(a.id);
  assert.equal(s.get(a.id), undefined);
  assert.ok(s.get(b.id));
  for (const bad of ['', 'x', a.session.key, a.id + 'A', '../../etc']) assert.equal(s.get(bad), undefined);
});

test('at the cap, a new login ends the oldest session', () => {
  const s = new SessionStore({ maxSessions: 3 });
  const ids = [s.create(), s.create(), s.create()].map((x) => x.id);
  const fourth = s.create();
  assert.equal(s.size, 3);
  assert.equal(s.get(ids[0]), undefined);
  assert.ok(s.get(ids[1]) && s.get(ids[2]) && s.get(fourth.id));
});
