-- The owner of its team who minted a service-account token: the token
-- works only while that owner could mint it again, none of the account's
-- rights past theirs (core: a role, a plan's capabilities or a team an
-- administrator gave the account after the mint, or the owner lowered,
-- leave the owner's copy with rights they never had). NULL for every
-- other token, and for those minted before this column: they keep the
-- older rules. No foreign key, as for minted_by_admin.
ALTER TABLE tokens ADD COLUMN minted_by_owner INTEGER;
