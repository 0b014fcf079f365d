"""The inventory's operations: stock levels (admin), reservations (order events), alerts."""
