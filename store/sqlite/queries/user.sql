-- name: UserInsert
INSERT INTO users ({{user_insert_columns}})
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
    ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39,
    ?40, ?41, ?42, ?43, ?44)
RETURNING id;

-- name: UserWithIdentities
-- Wraps, at load, each UserBy… statement (sqldb's userGetQueries) in
-- place of the marker in FROM: the user comes with its identities, a JSON
-- array of [provider, extern_uid] pairs by provider (UserIdentitiesColumn,
-- in place of its marker), in one statement. The row is one column, a
-- JSON array of those values in order (the dialect's PackedUser): the
-- driver's cost is per column; its name is short, as the driver copies it
-- at every query.
SELECT json_array({{user_columns}}, {{identities}}) AS packed
FROM ({{user}}) users;

-- name: UserWrite
UPDATE users SET username = ?1, username_key = ?2, email = ?3, email_key = ?4, name = ?5,
    first_name = ?6, last_name = ?7, display_name = ?8, handle = ?9, bio = ?10, location = ?11,
    skype = ?12, linkedin = ?13, twitter = ?14, website_url = ?15, language = ?16, state = ?17,
    kind = ?18, is_admin = ?19, is_external = ?20, can_create_group = ?21, projects_limit = ?22,
    theme_id = ?23, color_scheme_id = ?24, two_factor_enabled = ?25, external_id = ?26,
    metadata = ?27, email_confirmed_at = ?28, last_sign_in_at = ?29, current_sign_in_at = ?30,
    last_seen_at = ?31, updated_at = ?32, suspended_at = ?33, deleted_at = ?34, version = ?35,
    plan = ?36, avatar_etag = ?37, credentials_since = ?38, unconfirmed_email = ?39,
    -- A handle's key follows the handle when it changes; an unchanged
    -- handle keeps its key, or its lack of one (see migration 13).
    handle_key = CASE WHEN handle = ?9 THEN handle_key ELSE ?40 END, organisation_id = ?41, meta = ?42
WHERE id = ?43;

-- name: UserByID
SELECT {{user_columns}} FROM users WHERE id = ?1;

-- name: UserByIDForUpdate
-- SQLite has one writer: the transaction holds the database, not a row.
SELECT {{user_columns}} FROM users WHERE id = ?1;

-- name: UserByUsername
SELECT {{user_columns}} FROM users WHERE username_key = ?1 AND deleted_at IS NULL;

-- name: UserByHandle
SELECT {{user_columns}} FROM users WHERE handle_key = ?1 AND deleted_at IS NULL;

-- name: UserByEmail
SELECT {{user_columns}} FROM users WHERE email_key = ?1 AND deleted_at IS NULL;

-- name: UserByUUID
SELECT {{user_columns}} FROM users WHERE uuid = ?1 AND deleted_at IS NULL;

-- name: UserByExternalID
SELECT {{user_columns}} FROM users WHERE external_id = ?1 AND deleted_at IS NULL;

-- name: UserByIdentity
SELECT {{user_columns}} FROM users
WHERE id = (SELECT user_id FROM identities WHERE provider = ?1 AND extern_uid = ?2) AND deleted_at IS NULL;

-- name: UserPurge
DELETE FROM users WHERE id = ?1;

-- name: UserCount
SELECT count(*) FROM users;

-- name: AdministratorsLock

-- name: OtherAdministrator
-- One row at most, from the partial index users_admins.
SELECT count(*) FROM (
    SELECT 1 FROM users
    WHERE is_admin AND deleted_at IS NULL AND id <> ?1 AND kind = 'normal'
      AND state = 'active'
    LIMIT 1
);

-- name: UserNamesLock

-- name: UserTaken
-- Which unique field of a user collides with another live user. SQLite's
-- error code does not name the index, so after a unique violation the
-- engine asks. An address collides when another user claims it, as a
-- primary or a secondary address, or when another user claims one of this
-- user's secondary addresses (on undelete).
SELECT EXISTS (SELECT 1 FROM users WHERE username_key = ?1 AND deleted_at IS NULL AND id <> ?5),
       EXISTS (SELECT 1 FROM email_claims WHERE email_key = ?2 AND user_id <> ?5)
       OR EXISTS (SELECT 1 FROM user_emails e JOIN email_claims c ON c.email_key = e.email_key
                  WHERE e.user_id = ?5 AND c.user_id <> ?5 AND e.confirmed_at IS NOT NULL),
       EXISTS (SELECT 1 FROM users WHERE external_id = ?3 AND deleted_at IS NULL AND id <> ?5),
       EXISTS (SELECT 1 FROM users WHERE handle_key = ?6 AND deleted_at IS NULL AND id <> ?5),
       EXISTS (SELECT 1 FROM users WHERE uuid = ?4 AND id <> ?5);

-- name: UserIdentitiesColumn
-- Each user's identities, a column beside {{user_columns}} of a row of
-- users: UserWithIdentities's, and a page's ordered by id, a search's
-- through the trigram index included (sqldb's foldsIdentities), which
-- then needs no second statement for them.
(SELECT json_group_array(json_array(i.provider, i.extern_uid))
 FROM (SELECT provider, extern_uid FROM identities WHERE user_id = users.id ORDER BY provider) i);

-- name: IdentitiesOf
SELECT user_id, provider, extern_uid FROM identities WHERE user_id IN ({{ids}}) ORDER BY user_id, provider;

-- name: IdentityUpsert
INSERT INTO identities (user_id, provider, extern_uid, created_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (user_id, provider) DO UPDATE SET extern_uid = excluded.extern_uid;

-- name: IdentityDelete
DELETE FROM identities WHERE user_id = ?1 AND provider = ?2;

-- name: PasswordGet
SELECT hash FROM passwords WHERE user_id = ?1;

-- name: PasswordUpsert
INSERT INTO passwords (user_id, hash, updated_at) VALUES (?1, ?2, ?3)
ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at;

-- name: PasswordDelete
DELETE FROM passwords WHERE user_id = ?1;

-- name: UserSignIn
UPDATE users SET last_sign_in_at = current_sign_in_at, current_sign_in_at = ?1
WHERE id = ?2;

-- name: UserSeen
UPDATE users SET last_seen_at = ?1
WHERE id = ?2 AND (last_seen_at IS NULL OR last_seen_at < ?3);

-- name: UserFind
-- The partial unique indexes of live users' names and external ids are
-- named: planned without statistics, SQLite took the index on deletion
-- for a narrow one and walked every live user for each batch of an import
-- into a filled database (187 ms at 200,000 users). A load never sets
-- these aside.
SELECT {{user_columns}} FROM users WHERE id IN (
    SELECT id FROM users INDEXED BY users_username_key
    WHERE username_key IN (SELECT value FROM json_each(?1)) AND deleted_at IS NULL
    UNION
    SELECT id FROM users INDEXED BY users_external_id_key
    WHERE external_id IN (SELECT value FROM json_each(?2)) AND deleted_at IS NULL);

-- name: UserInsertMany
-- The head of the statement that inserts many users at once (sqldb's
-- insertUsers), as PasswordInsertMany is of their passwords'. OR FAIL: a
-- row that breaks a constraint ends the statement without undoing the
-- rows it wrote before, and the caller gives up its whole transaction on
-- any error. With ABORT, the default, SQLite first copies every page such
-- a statement changes into a statement journal, to be able to undo the
-- statement alone; in a load that copying took a fifth of the time (see
-- LoadBatchStart).
INSERT OR FAIL INTO users

-- name: PasswordInsertMany
INSERT OR FAIL INTO passwords

-- name: UsersDeletedBefore
-- users_deleted_suspended finds them without reading the table.
SELECT id FROM users WHERE kind = ?1 AND deleted_at < ?2 ORDER BY deleted_at, id LIMIT ?3;

-- name: UserMakerSet
UPDATE users SET created_by = ?2 WHERE id = ?1;

-- name: ServiceAccountsMadeBy
-- Deleted ones too, until they are purged.
SELECT count(*) FROM users WHERE created_by = ?1 AND kind = 'service_account';
