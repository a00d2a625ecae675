"""sessions: what happens to each call while the controller holds it: the citizen's call
(``call``), a callback (``callback``), the registry that links AMI events and assignments to
the session that waits for them (``registry``), and the fallback calls app_queue served
while the controller was away (``fallback``)."""
