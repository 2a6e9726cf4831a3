# Every resource this plan creates or retags carries `owner` and `team` tags
# (in its block or the stack's `[stack] tags`): someone answers for it.
package main

import rego.v1

required_tags := {"owner", "team"}

# Kinds AWS gives no tags (DNS records are owned through a marker record).
untagged_kinds := {"dns_record"}

deny contains msg if {
	some change in input.changes
	change.action in {"create", "replace"}
	not kind(change.address) in untagged_kinds
	some tag in required_tags
	not tags_after(change)[tag]
	msg := sprintf("%s in %s has no `%s` tag: add it to the block or to [stack] tags", [change.address, change.region, tag])
}

deny contains msg if {
	some change in input.changes
	change.action == "update"
	some attribute in change.attributes
	attribute.name == "tags"
	some tag in required_tags
	not attribute.after[tag]
	msg := sprintf("%s in %s would lose its `%s` tag", [change.address, change.region, tag])
}

kind(address) := split(address, ".")[0]

tags_after(change) := tags if {
	some attribute in change.attributes
	attribute.name == "tags"
	tags := attribute.after
} else := {}
