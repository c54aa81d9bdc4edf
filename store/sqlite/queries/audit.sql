-- name: AuditInsert
INSERT INTO audit_events (at, actor_kind, actor_id, actor_name, impersonator_id, action,
    resource_type, resource_id, changes, meta, address, user_agent, request_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
RETURNING id;

-- name: AuditCount
SELECT count(*) FROM audit_events;
