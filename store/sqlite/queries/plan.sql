-- name: PlanInsert
INSERT INTO plans (name, name_key, can_create_team, can_create_state_project, can_manage_project_acl,
    can_manage_project_hooks, project_limit, is_default, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10);

-- name: PlanByName
SELECT {{plan_columns}} FROM plans WHERE name_key = ?1;

-- name: PlanDefault
SELECT {{plan_columns}} FROM plans WHERE is_default = 1;

-- name: PlanList
SELECT {{plan_columns}} FROM plans ORDER BY name_key;

-- name: PlanWrite
UPDATE plans SET can_create_team = ?1, can_create_state_project = ?2, can_manage_project_acl = ?3,
    can_manage_project_hooks = ?4, project_limit = ?5, is_default = ?6, updated_at = ?7
WHERE name = ?8;

-- name: PlanDelete
DELETE FROM plans WHERE name_key = ?1;
