-- An advance runs in the request and commits step by step; a process killed mid-way used to leave
-- its clock 'advancing' for ever. advancing_since is the advancing process's heartbeat (refreshed at
-- every step, by the real clock): an advance whose heartbeat is older than the lease is taken over.
ALTER TABLE test_clocks ADD COLUMN advancing_since timestamptz;
