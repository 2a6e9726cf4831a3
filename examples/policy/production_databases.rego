# No database is deleted or replaced by a production stack's plan, even one
# not protected: that takes a change to this policy, reviewed as code.
package main

import rego.v1

production if endswith(input.stack, "-prod")

production if input.context.stack_tags.environment == "production"

deny contains msg if {
	production
	some change in input.changes
	startswith(change.address, "db_instance.")
	change.action in {"delete", "replace"}
	msg := sprintf(
		"%s in %s would be %sd in production stack %s: databases are not deleted or replaced by a deploy",
		[change.address, change.region, change.action, input.stack],
	)
}
