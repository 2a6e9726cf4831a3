# In production, security groups change inside the stack's change window, or
# with an emergency ticket (`--emergency TICKET`). A plan made outside the
# window is warned; an apply or rollout is refused.
package main

import rego.v1

production if endswith(input.stack, "-prod")

production if input.context.stack_tags.environment == "production"

outside_window if {
	production
	input.context.change_window_open == false
	input.context.emergency == null
}

group_changes contains sprintf("%s in %s", [change.address, change.region]) if {
	some change in input.changes
	startswith(change.address, "security_group.")
	change.action != "no-op"
}

deny contains msg if {
	outside_window
	input.context.operation != "plan"
	some change in group_changes
	msg := sprintf("%s changes outside the change window: wait for it, or pass --emergency TICKET", [change])
}

warn contains msg if {
	outside_window
	input.context.operation == "plan"
	some change in group_changes
	msg := sprintf("%s changes outside the change window: applying it now will be refused without --emergency", [change])
}
