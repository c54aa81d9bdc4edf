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
WHERE m.group_id = $1 AND m.user_id > $2 AND (NOT $5::boolean OR u.deleted_at IS NULL)
ORDER BY m.user_id LIMIT $3 OFFSET $4;

-- name: UserGroups
SELECT m.group_id, m.user_id, m.level, m.created_at, {{group_columns_g}}
FROM memberships m JOIN groups g ON g.id = m.group_id
WHERE m.user_id = $1 AND g.deleted_at IS NULL
ORDER BY g.kind, g.handle_key;

-- name: UserGroupsKept
SELECT m.group_id, m.user_id, m.level, m.created_at, {{group_columns_g}}
FROM memberships m JOIN groups g ON g.id = m.group_id
WHERE m.user_id = $1
ORDER BY g.kind, g.handle_key;

-- name: MembershipDeleteGroup
DELETE FROM memberships WHERE group_id = $1;

-- name: SoleOwnerTeams
SELECT {{group_columns_g}} FROM groups g JOIN memberships m ON m.group_id = g.id
WHERE m.user_id = $1 AND m.level = 'owner' AND g.kind = 'team' AND g.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM memberships o JOIN users ou ON ou.id = o.user_id
                  WHERE o.group_id = g.id AND o.level = 'owner' AND o.user_id <> $1 AND ou.deleted_at IS NULL)
ORDER BY g.id;

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
    FROM memberships c JOIN users u ON u.id = c.user_id AND u.deleted_at IS NULL
    WHERE c.group_id IN (SELECT group_id FROM mine)
    GROUP BY c.group_id
), held AS (
    SELECT c.group_id, json_agg(DISTINCT r.id)::text AS roles
    FROM memberships c
    JOIN users u ON u.id = c.user_id AND u.deleted_at IS NULL
    JOIN memberships rm ON rm.user_id = c.user_id
    JOIN groups r ON r.id = rm.group_id
    WHERE c.group_id IN (SELECT group_id FROM mine)
      AND r.kind = 'role' AND r.deleted_at IS NULL AND r.archived_at IS NULL
    GROUP BY c.group_id
)
SELECT mine.group_id, mine.user_id, mine.level, mine.created_at, {{group_columns_g}},
    counted.members, counted.service_accounts, COALESCE(held.roles, '[]')
FROM mine
JOIN groups g ON g.id = mine.group_id
JOIN counted ON counted.group_id = mine.group_id
LEFT JOIN held ON held.group_id = mine.group_id
ORDER BY mine.user_id, g.kind, g.handle_key;

-- name: OwnedServiceAccountCount
SELECT count(DISTINCT sa.user_id)
FROM memberships o
JOIN groups g ON g.id = o.group_id AND g.kind = 'team' AND g.deleted_at IS NULL
JOIN memberships sa ON sa.group_id = o.group_id
JOIN users u ON u.id = sa.user_id AND u.kind = 'service_account' AND u.deleted_at IS NULL
WHERE o.user_id = $1 AND o.level = 'owner';

-- name: OwnedServiceAccountLock
-- A lock of the schema's (as the handle's is) on one user's count of the
-- service accounts in the teams they own, not on the user's row.
SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.users.owned_service_accounts'), hashtext(CAST($1::bigint AS text)));

-- name: OwnedTeamCount
SELECT count(*) FROM memberships m JOIN groups g ON g.id = m.group_id
WHERE m.user_id = $1 AND m.level = 'owner' AND g.kind = 'team' AND g.deleted_at IS NULL;
