-- name: OrgInsert
INSERT INTO organisations (handle, handle_key, name, created_at, updated_at, archived_at, deleted_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id;

-- name: OrgByID
SELECT {{org_columns}} FROM organisations WHERE id = $1;

-- name: OrgByHandle
SELECT {{org_columns}} FROM organisations WHERE handle_key = $1 AND deleted_at IS NULL;

-- name: OrgWrite
UPDATE organisations SET handle = $1, handle_key = $2, name = $3, updated_at = $4, archived_at = $5, deleted_at = $6
WHERE id = $7;

-- name: GroupInsert
INSERT INTO groups (kind, handle, handle_key, name, description, logo, organisation_id, created_at,
    updated_at, archived_at, deleted_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING id;

-- name: GroupByID
SELECT {{group_columns}} FROM groups WHERE id = $1;

-- name: GroupByIDForUpdate
SELECT {{group_columns}} FROM groups WHERE id = $1 FOR UPDATE;

-- name: GroupByHandle
SELECT {{group_columns}} FROM groups WHERE kind = $1 AND handle_key = $2 AND deleted_at IS NULL;

-- name: GroupWrite
UPDATE groups SET kind = $1, handle = $2, handle_key = $3, name = $4, description = $5, logo = $6,
    organisation_id = $7, updated_at = $8, archived_at = $9, deleted_at = $10, version = $11
WHERE id = $12;

-- name: MembershipUpsert
INSERT INTO memberships (group_id, user_id, level, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (group_id, user_id) DO UPDATE SET level = excluded.level;

-- name: MembershipDelete
DELETE FROM memberships WHERE group_id = $1 AND user_id = $2;

-- name: MembershipGet
SELECT group_id, user_id, level, created_at FROM memberships WHERE group_id = $1 AND user_id = $2;

-- name: GroupMembers
SELECT m.group_id, m.user_id, m.level, m.created_at, {{user_columns_u}}
FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.group_id = $1 AND m.user_id > $2
ORDER BY m.user_id LIMIT $3;

-- name: UserGroups
SELECT m.group_id, m.user_id, m.level, m.created_at, {{group_columns_g}}
FROM memberships m JOIN groups g ON g.id = m.group_id
WHERE m.user_id = $1 AND g.deleted_at IS NULL
ORDER BY g.kind, g.handle_key;

-- name: MembershipDeleteGroup
DELETE FROM memberships WHERE group_id = $1;

-- name: SoleOwnerTeams
SELECT {{group_columns_g}} FROM groups g JOIN memberships m ON m.group_id = g.id
WHERE m.user_id = $1 AND m.level = 'owner' AND g.kind = 'team' AND g.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM memberships o WHERE o.group_id = g.id AND o.level = 'owner' AND o.user_id <> $1)
ORDER BY g.id;

-- name: RuleList
SELECT role_id, resource, operation, access FROM rules WHERE role_id = $1 ORDER BY resource, operation;

-- name: RuleUpsert
INSERT INTO rules (role_id, resource, operation, access) VALUES ($1, $2, $3, $4)
ON CONFLICT (role_id, resource, operation) DO UPDATE SET access = excluded.access;

-- name: RuleDeleteOne
DELETE FROM rules WHERE role_id = $1 AND resource = $2 AND operation = $3;

-- name: RuleDeleteAll
DELETE FROM rules WHERE role_id = $1;

-- name: RulesFor
-- One query for every rule that applies to a user: those of the live roles
-- the user belongs to.
SELECT r.role_id, r.resource, r.operation, r.access
FROM memberships m
JOIN groups g ON g.id = m.group_id AND g.kind = 'role' AND g.deleted_at IS NULL AND g.archived_at IS NULL
JOIN rules r ON r.role_id = g.id
WHERE m.user_id = $1;

-- name: PlanInsert
INSERT INTO plans (name, name_key, can_create_team, can_create_state_project, can_manage_project_acl,
    can_manage_project_hooks, project_limit, is_default, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: PlanByName
SELECT {{plan_columns}} FROM plans WHERE name_key = $1;

-- name: PlanDefault
SELECT {{plan_columns}} FROM plans WHERE is_default;

-- name: PlanList
SELECT {{plan_columns}} FROM plans ORDER BY name_key;

-- name: PlanWrite
UPDATE plans SET can_create_team = $1, can_create_state_project = $2, can_manage_project_acl = $3,
    can_manage_project_hooks = $4, project_limit = $5, is_default = $6, updated_at = $7
WHERE name = $8;

-- name: PlanDelete
DELETE FROM plans WHERE name_key = $1;

-- name: KeyInsert
INSERT INTO ssh_keys (user_id, title, key, fingerprint, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id;

-- name: KeyByID
SELECT {{key_columns}} FROM ssh_keys WHERE id = $1;

-- name: KeyList
SELECT {{key_columns}} FROM ssh_keys WHERE user_id = $1 ORDER BY id;

-- name: KeyDelete
DELETE FROM ssh_keys WHERE id = $1;

-- name: EmailInsert
INSERT INTO user_emails (user_id, email, email_key, confirmed_at, created_at) VALUES ($1, $2, $3, $4, $5)
RETURNING id;

-- name: EmailByID
SELECT {{email_columns}} FROM user_emails WHERE id = $1;

-- name: EmailList
SELECT {{email_columns}} FROM user_emails WHERE user_id = $1 ORDER BY id;

-- name: EmailDelete
DELETE FROM user_emails WHERE id = $1;

-- name: EmailConfirm
UPDATE user_emails SET confirmed_at = $1 WHERE id = $2;

-- name: SettingList
SELECT key, value, updated_at FROM user_settings WHERE user_id = $1 ORDER BY key;

-- name: SettingUpsert
INSERT INTO user_settings (user_id, key, value, updated_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;

-- name: SettingDelete
DELETE FROM user_settings WHERE user_id = $1 AND key = $2;

-- name: AvatarGet
SELECT user_id, content_type, data, etag, updated_at FROM avatars WHERE user_id = $1;

-- name: AvatarUpsert
INSERT INTO avatars (user_id, content_type, data, etag, updated_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (user_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data,
    etag = excluded.etag, updated_at = excluded.updated_at;

-- name: AvatarDelete
DELETE FROM avatars WHERE user_id = $1;

-- name: EmailDeleteStale
DELETE FROM user_emails WHERE confirmed_at IS NULL AND created_at < $1;

-- name: EmailHolder
SELECT user_id FROM email_claims WHERE email_key = $1;

-- name: MembershipsOf
-- $1 is an array of user ids, $2 one of group kinds (empty: all). The
-- counts are taken once per group, not once per membership.
WITH mine AS (
    SELECT m.group_id, m.user_id, m.level, m.created_at
    FROM memberships m JOIN groups g ON g.id = m.group_id
    WHERE m.user_id = ANY($1::bigint[]) AND g.deleted_at IS NULL
      AND (cardinality($2::text[]) = 0 OR g.kind = ANY($2::text[]))
), counted AS (
    SELECT c.group_id, count(*) AS members,
        count(*) FILTER (WHERE u.kind = 'service_account') AS service_accounts
    FROM memberships c JOIN users u ON u.id = c.user_id
    WHERE c.group_id IN (SELECT group_id FROM mine)
    GROUP BY c.group_id
), held AS (
    SELECT c.group_id, count(DISTINCT r.id) AS roles
    FROM memberships c
    JOIN memberships rm ON rm.user_id = c.user_id
    JOIN groups r ON r.id = rm.group_id
    WHERE c.group_id IN (SELECT group_id FROM mine)
      AND r.kind = 'role' AND r.deleted_at IS NULL AND r.archived_at IS NULL
    GROUP BY c.group_id
)
SELECT mine.group_id, mine.user_id, mine.level, mine.created_at, {{group_columns_g}},
    counted.members, counted.service_accounts, COALESCE(held.roles, 0)
FROM mine
JOIN groups g ON g.id = mine.group_id
JOIN counted ON counted.group_id = mine.group_id
LEFT JOIN held ON held.group_id = mine.group_id
ORDER BY mine.user_id, g.kind, g.handle_key;
