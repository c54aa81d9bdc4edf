-- Each count is one pass over its table: count(*) with FILTER clauses
-- reads every row once, whatever the number of counts.

-- name: StatsUsers
SELECT count(*),
    count(*) FILTER (WHERE deleted_at IS NULL AND suspended_at IS NULL),
    count(*) FILTER (WHERE deleted_at IS NULL AND suspended_at IS NOT NULL),
    count(*) FILTER (WHERE deleted_at IS NOT NULL)
FROM users;

-- name: StatsGroups
SELECT count(*),
    count(*) FILTER (WHERE deleted_at IS NULL AND archived_at IS NULL),
    count(*) FILTER (WHERE deleted_at IS NULL AND archived_at IS NOT NULL),
    count(*) FILTER (WHERE deleted_at IS NOT NULL),
    count(*) FILTER (WHERE kind = 'role'),
    count(*) FILTER (WHERE kind = 'role' AND deleted_at IS NULL AND archived_at IS NULL),
    count(*) FILTER (WHERE kind = 'role' AND deleted_at IS NULL AND archived_at IS NOT NULL),
    count(*) FILTER (WHERE kind = 'role' AND deleted_at IS NOT NULL)
FROM groups;

-- name: StatsApplications
SELECT count(*),
    count(*) FILTER (WHERE deleted_at IS NULL),
    count(*) FILTER (WHERE deleted_at IS NOT NULL)
FROM applications;
