// usher's Corteza face driven by Corteza's own JavaScript client,
// @cortezaproject/corteza-js 2020.9.3 (its System API client): log in
// through internal auth, then users, roles and members, permissions,
// applications, settings (with a file upload), reminders, attachments,
// automation, stats and the action log. run.sh starts a fresh usher and
// sets CORTEZA_URL (…/api/system), CORTEZA_EMAIL and CORTEZA_PASSWORD (its
// only user, an administrator).
'use strict';

const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const { apiClients } = require('@cortezaproject/corteza-js');

const baseURL = process.env.CORTEZA_URL;
const email = process.env.CORTEZA_EMAIL;
const password = process.env.CORTEZA_PASSWORD;
if (!baseURL || !email || !password) {
  throw new Error('set CORTEZA_URL, CORTEZA_EMAIL and CORTEZA_PASSWORD (run.sh does)');
}

const idRE = /^[1-9][0-9]*$/;
let api; // the client with the administrator's JWT
let me; // the administrator, as log-in answered

// rejects asserts that the client's call fails with Corteza's error
// object, {message}, whose message matches re.
async function rejects(promise, re) {
  await assert.rejects(promise, (err) => {
    assert.equal(typeof err.message, 'string');
    assert.match(err.message, re);
    return true;
  });
}

before(async () => {
  const anon = new apiClients.System({ baseURL });
  const settings = await anon.authSettings();
  assert.equal(settings.internalEnabled, true);
  const res = await anon.authInternalLogin({ email, password });
  assert.ok(res.jwt.length > 100, 'the client takes only JWTs over 100 characters');
  assert.equal(res.user.email, email);
  assert.match(res.user.userID, idRE);
  me = res.user;
  api = new apiClients.System({ baseURL, jwt: res.jwt });
});

test('auth: check, bad password, and no JWT', async () => {
  const check = await api.authCheck();
  assert.equal(check.user.userID, me.userID);
  const anon = new apiClients.System({ baseURL });
  await rejects(anon.authInternalLogin({ email, password: 'not the password' }), /.+/);
  await rejects(anon.userList({}), /^Unauthorized$/);
});

test('users: create, read, list, update, suspend, delete, undelete, password', async () => {
  const u = await api.userCreate({ email: 'ada@example.com', name: 'Ada', handle: 'ada' });
  assert.match(u.userID, idRE);
  assert.equal(u.email, 'ada@example.com');
  assert.equal(u.handle, 'ada');

  const read = await api.userRead({ userID: u.userID });
  assert.equal(read.name, 'Ada');

  const list = await api.userList({ query: 'ada' });
  assert.equal(list.filter.query, 'ada');
  assert.equal(list.filter.count, 1);
  assert.deepEqual(list.set.map((x) => x.userID), [u.userID]);

  const none = await api.userList({ query: 'nobody-at-all' });
  assert.equal(none.set, null);
  assert.equal(none.filter.count, 0);

  const upd = await api.userUpdate({ userID: u.userID, email: 'ada@example.com', name: 'Ada L.', handle: 'ada' });
  assert.equal(upd.name, 'Ada L.');

  await api.userSuspend({ userID: u.userID });
  let only = await api.userList({ suspended: 2 });
  assert.deepEqual(only.set.map((x) => x.userID), [u.userID]);
  assert.ok(only.set[0].suspendedAt);
  await api.userUnsuspend({ userID: u.userID });
  only = await api.userList({ suspended: 2 });
  assert.equal(only.set, null);

  await api.userSetPassword({ userID: u.userID, password: 'a brand new passphrase' });
  const anon = new apiClients.System({ baseURL });
  const login = await anon.authInternalLogin({ email: 'ada@example.com', password: 'a brand new passphrase' });
  assert.equal(login.user.userID, u.userID);

  await api.userDelete({ userID: u.userID });
  await rejects(api.userRead({ userID: u.userID }), /not found/i);
  const deleted = await api.userList({ deleted: 2 });
  assert.deepEqual(deleted.set.map((x) => x.userID), [u.userID]);
  await api.userUndelete({ userID: u.userID });
  assert.equal((await api.userRead({ userID: u.userID })).email, 'ada@example.com');

  await rejects(api.userCreate({ email: 'ada@example.com' }), /email/i);
  await rejects(api.userRead({ userID: '987654321' }), /not found/i);
});

test('roles and members', async () => {
  const role = await api.roleCreate({ name: 'Editors', handle: 'editors' });
  assert.match(role.roleID, idRE);
  assert.equal(role.canGrant, true);
  assert.equal(role.canUpdateRole, true);
  const bob = await api.userCreate({ email: 'bob@example.com', name: 'Bob', handle: 'bob' });

  await api.roleMemberAdd({ roleID: role.roleID, userID: bob.userID });
  assert.deepEqual(await api.roleMemberList({ roleID: role.roleID }), [bob.userID]);
  assert.deepEqual(await api.userMembershipList({ userID: bob.userID }), [role.roleID]);
  const byRole = await api.userList({ roleID: [role.roleID] });
  assert.deepEqual(byRole.set.map((x) => x.userID), [bob.userID]);
  await api.userMembershipRemove({ userID: bob.userID, roleID: role.roleID });
  assert.deepEqual(await api.roleMemberList({ roleID: role.roleID }), []);
  await api.userMembershipAdd({ userID: bob.userID, roleID: role.roleID });
  await api.roleMemberRemove({ roleID: role.roleID, userID: bob.userID });
  assert.deepEqual(await api.userMembershipList({ userID: bob.userID }), []);

  const upd = await api.roleUpdate({ roleID: role.roleID, name: 'Editors-in-chief', handle: 'editors' });
  assert.equal(upd.name, 'Editors-in-chief');
  assert.equal((await api.roleRead({ roleID: role.roleID })).name, 'Editors-in-chief');

  await api.roleArchive({ roleID: role.roleID });
  let list = await api.roleList({ archived: 2 });
  assert.deepEqual(list.set.map((x) => x.roleID), [role.roleID]);
  await api.roleUnarchive({ roleID: role.roleID });
  list = await api.roleList({ query: 'Editors' });
  assert.deepEqual(list.set.map((x) => x.roleID), [role.roleID]);

  const other = await api.roleCreate({ name: 'Writers', handle: 'writers' });
  await api.roleMemberAdd({ roleID: other.roleID, userID: bob.userID });
  await api.roleMerge({ roleID: other.roleID, destination: role.roleID });
  assert.deepEqual(await api.roleMemberList({ roleID: role.roleID }), [bob.userID]);

  await api.roleDelete({ roleID: role.roleID });
  await api.roleUndelete({ roleID: role.roleID });
  assert.equal((await api.roleRead({ roleID: role.roleID })).handle, 'editors');
});

test('permissions: list, rules of a role, effective', async () => {
  const ops = await api.permissionsList();
  assert.ok(ops.some((o) => o.resource === 'system' && o.operation === 'grant'));
  assert.ok(ops.some((o) => o.resource === 'system:user:*' && o.operation === 'update'));

  const role = await api.roleCreate({ name: 'Support', handle: 'support' });
  // Corteza's PATCH answers {"success":{"message":"OK"}}, no response, so
  // the client hands back nothing.
  const patched = await api.permissionsUpdate({
    roleID: role.roleID,
    rules: [
      { resource: 'system:user:*', operation: 'update', access: 'allow' },
      { resource: 'system', operation: 'user.create', access: 'deny' },
    ],
  });
  assert.equal(patched, undefined);
  let read = await api.permissionsRead({ roleID: role.roleID });
  assert.ok(read.some((r) => r.resource === 'system:user:*' && r.operation === 'update' && r.access === 'allow'));
  assert.ok(read.some((r) => r.resource === 'system' && r.operation === 'user.create' && r.access === 'deny'));

  await api.permissionsUpdate({ roleID: role.roleID, rules: [{ resource: 'system', operation: 'user.create', access: 'inherit' }] });
  read = await api.permissionsRead({ roleID: role.roleID });
  assert.ok(!read.some((r) => r.operation === 'user.create'));
  await api.permissionsDelete({ roleID: role.roleID });
  assert.deepEqual(await api.permissionsRead({ roleID: role.roleID }), []);

  const eff = await api.permissionsEffective({ resource: 'system' });
  assert.ok(eff.length > 0);
  assert.ok(eff.every((p) => p.allow === true), 'an administrator may do everything');
});

test('applications', async () => {
  const app = await api.applicationCreate({ name: 'Wiki', enabled: true, unify: { name: 'Wiki', listed: true, url: 'https://wiki.example.com' } });
  assert.match(app.applicationID, idRE);
  assert.equal(typeof app.ownerID, 'number', 'ownerID is a number, as Corteza writes it');
  assert.equal(app.enabled, true);
  assert.equal(app.unify.url, 'https://wiki.example.com');
  assert.equal(app.canUpdateApplication, true);
  const upd = await api.applicationUpdate({ applicationID: app.applicationID, name: 'Wiki 2', enabled: false });
  assert.equal(upd.name, 'Wiki 2');
  assert.equal(upd.enabled, false);
  assert.equal((await api.applicationRead({ applicationID: app.applicationID })).name, 'Wiki 2');
  const list = await api.applicationList({ query: 'Wiki' });
  assert.deepEqual(list.set.map((a) => a.applicationID), [app.applicationID]);
  await api.applicationDelete({ applicationID: app.applicationID });
  assert.equal((await api.applicationList({ query: 'Wiki' })).set, null);
  await api.applicationUndelete({ applicationID: app.applicationID });
  assert.equal((await api.applicationList({ query: 'Wiki' })).filter.count, 1);
});

test('settings, with a file upload, and attachments', async () => {
  assert.equal(await api.settingsUpdate({ values: [{ name: 'ui.title', value: 'Hello' }, { name: 'auth.note', value: { a: 1 } }] }), true);
  const list = await api.settingsList({ prefix: 'ui.' });
  assert.deepEqual(list.map((s) => [s.name, s.value]), [['ui.title', 'Hello']]);
  const one = await api.settingsGet({ key: 'auth.note' });
  assert.deepEqual(one.value, { a: 1 });
  const current = await api.settingsCurrent();
  assert.equal(typeof current, 'object');

  // The client sends every body as JSON, which cannot carry a file; a
  // browser posts the form to the client's own endpoint, as here.
  const form = new FormData();
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
  form.append('upload', new Blob([png], { type: 'image/png' }), 'logo.png');
  const res = await fetch(baseURL + api.settingsSetEndpoint({ key: 'ui.logo' }), {
    method: 'POST', body: form, headers: { Authorization: 'Bearer ' + api.jwt },
  });
  const body = await res.json();
  assert.equal(res.status, 200);
  assert.equal(body.response.name, 'ui.logo');
  const logo = await api.settingsGet({ key: 'ui.logo' });
  const attachmentID = String(logo.value.attachment);
  assert.match(attachmentID, idRE);

  const att = await api.attachmentRead({ kind: 'settings', attachmentID });
  assert.equal(att.attachmentID, attachmentID);
  assert.equal(att.name, 'logo.png');
  assert.equal(att.meta.original.mimetype, 'image/png');
  const orig = await fetch(baseURL + api.attachmentOriginalEndpoint({ kind: 'settings', attachmentID, name: 'logo.png' }),
    { headers: { Authorization: 'Bearer ' + api.jwt } });
  assert.equal(orig.status, 200);
  assert.deepEqual(Buffer.from(await orig.arrayBuffer()), png);
  const prev = await fetch(baseURL + api.attachmentPreviewEndpoint({ kind: 'settings', attachmentID, ext: 'png' }),
    { headers: { Authorization: 'Bearer ' + api.jwt } });
  assert.equal(prev.status, 200);
  // A setting's file goes with its setting: an omitted value deletes it.
  await rejects(api.attachmentDelete({ kind: 'settings', attachmentID }), /setting/);
  assert.equal(await api.settingsUpdate({ values: [{ name: 'ui.logo' }] }), true);
  await rejects(api.attachmentRead({ kind: 'settings', attachmentID }), /not found/i);
  assert.equal(await api.settingsGet({ key: 'ui.logo' }), null);
});

test('reminders', async () => {
  const at = new Date(Date.now() + 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
  const r = await api.reminderCreate({ resource: 'system:user:' + me.userID, assignedTo: me.userID, payload: { note: 'call back' }, remindAt: at });
  assert.match(r.reminderID, idRE);
  assert.deepEqual(r.payload, { note: 'call back' });
  assert.equal((await api.reminderRead({ reminderID: r.reminderID })).resource, 'system:user:' + me.userID);
  const later = new Date(Date.now() + 7200e3).toISOString().replace(/\.\d+Z$/, 'Z');
  await api.reminderSnooze({ reminderID: r.reminderID, remindAt: later });
  const snoozed = await api.reminderRead({ reminderID: r.reminderID });
  assert.equal(snoozed.snoozeCount, 1);
  const upd = await api.reminderUpdate({ reminderID: r.reminderID, resource: 'system:role:1', assignedTo: me.userID, payload: { note: 'x' } });
  assert.equal(upd.resource, 'system:role:1');
  const list = await api.reminderList({ assignedTo: me.userID });
  assert.ok(list.set.some((x) => x.reminderID === r.reminderID));
  await api.reminderDismiss({ reminderID: r.reminderID });
  assert.ok((await api.reminderRead({ reminderID: r.reminderID })).dismissedAt);
  await api.reminderDelete({ reminderID: r.reminderID });
  await rejects(api.reminderRead({ reminderID: r.reminderID }), /not found/i);
});

test('automation: list, bundle, triggers', async () => {
  const list = await api.automationList({});
  const names = list.set.map((s) => s.name).sort();
  assert.deepEqual(names, ['greet', 'panel']);
  const greet = list.set.find((s) => s.name === 'greet');
  assert.ok(greet.triggers.some((t) => t.resourceType === 'system:user' && t.eventType === 'manual'));
  const server = await api.automationList({ excludeClientScripts: true });
  assert.deepEqual(server.set.map((s) => s.name), ['greet']);

  const bundle = await fetch(baseURL + api.automationBundleEndpoint({ bundle: 'admin', type: 'client-scripts', ext: 'js' }),
    { headers: { Authorization: 'Bearer ' + api.jwt } });
  assert.equal(bundle.status, 200);
  assert.match(await bundle.text(), /usherPanel/);

  await api.automationTriggerScript({ script: 'greet' });
  await api.userTriggerScript({ userID: me.userID, script: 'greet' });
  const role = await api.roleCreate({ name: 'Triggered', handle: 'triggered' });
  await api.roleTriggerScript({ roleID: role.roleID, script: 'greet' });
  const app = await api.applicationCreate({ name: 'Triggered app', enabled: true });
  await api.applicationTriggerScript({ applicationID: app.applicationID, script: 'greet' });
  await rejects(api.userTriggerScript({ userID: me.userID, script: 'no-such-script' }), /.+/);
});

test('stats, subscription, organisations and the action log', async () => {
  const stats = await api.statsList();
  assert.ok(stats.users.total >= 1);
  assert.equal(typeof stats.roles.total, 'number');
  await rejects(api.subscriptionCurrent(), /subscription/i);

  const org = await api.organisationCreate({ name: 'Acme', handle: 'acme' });
  assert.match(org.organisationID, idRE);
  assert.equal((await api.organisationRead({ id: org.organisationID })).name, 'Acme');
  const upd = await api.organisationUpdate({ id: org.organisationID, name: 'Acme Inc' });
  assert.equal(upd.name, 'Acme Inc');
  assert.ok((await api.organisationList({})).some((o) => o.organisationID === org.organisationID));
  await api.organisationArchive({ id: org.organisationID });
  await api.organisationDelete({ id: org.organisationID });

  const log = await api.actionlogList({ actorID: [me.userID], limit: 5 });
  assert.equal(log.filter.limit, 5);
  assert.ok(log.set.length > 0 && log.set.length <= 5);
  assert.ok(log.set.every((a) => a.actorID === me.userID));
  assert.ok(log.filter.count >= log.set.length);
});

test('impersonation and log-out', async () => {
  const carol = await api.userCreate({ email: 'carol@example.com', name: 'Carol', handle: 'carol' });
  const imp = await api.authImpersonate({ userID: carol.userID });
  assert.equal(imp.user.userID, carol.userID);
  const asCarol = new apiClients.System({ baseURL, jwt: imp.jwt });
  assert.equal((await asCarol.authCheck()).user.userID, carol.userID);

  const anon = new apiClients.System({ baseURL });
  const login = await anon.authInternalLogin({ email, password });
  const second = new apiClients.System({ baseURL, jwt: login.jwt });
  await second.authLogout();
  await new Promise((r) => setTimeout(r, 2500)); // the bound of every token check
  await rejects(second.userList({}), /^Unauthorized$/);
});
