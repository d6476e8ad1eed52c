"""Every change in sharing, one module per workflow: ``requests`` (share requests and grants),
and the others as they are named (applications and the gateway, verification, disputes,
demands, receipts)."""
