# No SSH (22) or RDP (3389) open to the whole internet: reach instances
# through SSM Session Manager, a bastion or a VPN instead.
package main

import rego.v1

admin_ports := {22, 3389}

world := {"0.0.0.0/0", "::/0"}

deny contains msg if {
	some change in input.changes
	change.action in {"create", "update", "replace"}
	startswith(change.address, "security_group.")
	some attribute in change.attributes
	attribute.name == "ingress"
	some rule in attribute.after
	source := object.get(rule, "cidr", object.get(rule, "cidr_ipv6", ""))
	source in world
	some port in admin_ports
	opens(rule, port)
	msg := sprintf(
		"%s in %s opens port %d to %s: reach it through SSM, a bastion or a VPN instead",
		[change.address, change.region, port, source],
	)
}

opens(rule, _) if rule.protocol in {"-1", "all"}

opens(rule, _) if {
	rule.protocol in {"tcp", "6"}
	rule.ports == "all"
}

opens(rule, port) if {
	rule.protocol in {"tcp", "6"}
	bounds := split(rule.ports, "-")
	to_number(bounds[0]) <= port
	port <= to_number(bounds[count(bounds) - 1])
}
