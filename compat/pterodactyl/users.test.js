// usher's Pterodactyl face driven by nodeactyl, a Pterodactyl client written
// by others: list with paging, get, create, update and delete users, and
// the errors a client sees. run.sh starts a fresh usher and sets
// PTERODACTYL_URL and PTERODACTYL_KEY (an application key of its only
// user, an administrator).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { NodeactylApplication } = require('nodeactyl');

const url = process.env.PTERODACTYL_URL;
const key = process.env.PTERODACTYL_KEY;
if (!url || !key) {
  throw new Error('set PTERODACTYL_URL and PTERODACTYL_KEY (run.sh does)');
}
const app = new NodeactylApplication(url, key);

// Pterodactyl's time format: ISO 8601 in UTC with a numeric offset.
const timeRE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/;
const uuidRE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// The attributes of a user, in Pterodactyl's order.
const attributeOrder = ['id', 'external_id', 'uuid', 'username', 'email', 'first_name', 'last_name',
  'language', 'root_admin', '2fa', 'created_at', 'updated_at'];

function checkUser(item) {
  assert.equal(item.object, 'user');
  assert.deepEqual(Object.keys(item.attributes), attributeOrder);
  const a = item.attributes;
  assert.equal(typeof a.id, 'number');
  assert.match(a.uuid, uuidRE);
  assert.equal(typeof a.root_admin, 'boolean');
  assert.equal(typeof a['2fa'], 'boolean');
  assert.match(a.created_at, timeRE);
  assert.match(a.updated_at, timeRE);
  return a;
}

// Enough users for three pages of Pterodactyl's 50, the administrator
// included; every tenth gets a password.
const count = 120;
const name = (i) => `player${String(i).padStart(3, '0')}`;
const created = [];

test('createUser creates users and answers with them', async () => {
  for (let i = 0; i < count; i++) {
    const password = i % 10 === 0 ? `long enough passphrase ${i}` : undefined;
    const res = await app.createUser(`${name(i)}@example.com`, name(i), `First${i}`, `Last${i}`, password);
    const a = checkUser(res);
    assert.equal(a.username, name(i));
    assert.equal(a.email, `${name(i)}@example.com`);
    assert.equal(a.first_name, `First${i}`);
    assert.equal(a.last_name, `Last${i}`);
    assert.equal(a.external_id, null);
    assert.equal(a.language, 'en');
    assert.equal(a.root_admin, false);
    assert.equal(res.meta.resource, `${url}/api/application/users/${a.id}`);
    created.push(a);
  }
});

test('createUser refuses a taken username with 422', async () => {
  await assert.rejects(app.createUser('other@example.com', name(0).toUpperCase(), 'A', 'B'), (err) => err === 422);
});

test('getAllUsers and getUserPage page through every user', async () => {
  const first = await app.getAllUsers();
  assert.equal(first.object, 'list');
  const p = first.meta.pagination;
  assert.deepEqual(
    { total: p.total, count: p.count, per_page: p.per_page, current_page: p.current_page, total_pages: p.total_pages },
    { total: count + 1, count: 50, per_page: 50, current_page: 1, total_pages: 3 });
  assert.deepEqual(Object.keys(p.links), ['next']);
  assert.equal(p.links.next, `${url}/api/application/users?page=2`);

  const ids = [];
  for (let page = 1; page <= p.total_pages; page++) {
    const res = await app.getUserPage(page);
    const pg = res.meta.pagination;
    assert.equal(pg.current_page, page);
    assert.equal(pg.count, res.data.length);
    assert.equal(pg.count, page < 3 ? 50 : count + 1 - 100);
    assert.equal('previous' in pg.links, page > 1);
    assert.equal('next' in pg.links, page < 3);
    for (const item of res.data) {
      ids.push(checkUser(item).id);
    }
  }
  // Every user once, in id order; the administrator first.
  const want = [ids[0], ...created.map((u) => u.id)];
  assert.deepEqual(ids, want);

  const past = await app.getUserPage(4);
  assert.equal(past.data.length, 0);
  assert.deepEqual(Object.keys(past.meta.pagination.links), ['previous']);
});

test('getUserDetails returns one user', async () => {
  const u = created[7];
  const res = await app.getUserDetails(u.id);
  assert.deepEqual(checkUser(res), u);
  await assert.rejects(app.getUserDetails(999999), (err) => err === 404);
});

test('updateUserDetails changes a user', async () => {
  const u = created[3];
  const ok = await app.updateUserDetails(u.id, 'renamed@example.com', 'renamed', 'Re', 'Named', 'de', 'a brand new passphrase');
  assert.equal(ok, true);
  const a = checkUser(await app.getUserDetails(u.id));
  assert.equal(a.email, 'renamed@example.com');
  assert.equal(a.username, 'renamed');
  assert.equal(a.first_name, 'Re');
  assert.equal(a.last_name, 'Named');
  assert.equal(a.language, 'de');
  assert.equal(a.uuid, u.uuid);
  assert.equal(a.created_at, u.created_at);
  // Its own names again are no conflict; another user's are.
  assert.equal(await app.updateUserDetails(u.id, 'renamed@example.com', 'renamed', 'Re', 'Named'), true);
  await assert.rejects(app.updateUserDetails(u.id, created[4].email, 'renamed', 'Re', 'Named'), (err) => err === 422);
  await assert.rejects(app.updateUserDetails(999999, 'x@example.com', 'x', 'X', 'X'), (err) => err === 404);
});

// usher answers a delete with 200, as the Pterodactyl API document usher follows says, where Pterodactyl
// itself answers 204; nodeactyl takes any 2xx as success.
test('deleteUser deletes a user', async () => {
  const u = created[5];
  assert.equal(await app.deleteUser(u.id), true);
  await assert.rejects(app.getUserDetails(u.id), (err) => err === 404);
  await assert.rejects(app.deleteUser(u.id), (err) => err === 404);
  const res = await app.getAllUsers();
  assert.equal(res.meta.pagination.total, count);
});

test('a wrong key is refused with 401', async () => {
  const stranger = new NodeactylApplication(url, 'ptla_' + 'x'.repeat(43));
  await assert.rejects(stranger.getAllUsers(), (err) => err === 401);
});
