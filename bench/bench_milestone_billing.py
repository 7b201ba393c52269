#!/usr/bin/env python3
"""Queries and milliseconds per invoice: automatic milestone billing vs. native Odoo.

Runs against a database where milestone_billing is installed, inside one
transaction that is rolled back at the end: nothing is left behind.

    python3 bench/bench_milestone_billing.py -d DB --addons-path PATHS [-n 100]

Scenarios, each billing N finished milestones (one per sales order):
- auto, one write each:  the PM drags each task to Done (one request each);
- auto, one mass write:  the PM moves the N tasks to Done in one mass edit;
- native:                 task to Done, milestone marked reached, then
                          "Create Invoice" (regular invoice) on the order.
"""

# pylint: disable=print-used
# A command-line report: printing is its output.
import argparse
import time
from contextlib import closing

import odoo
from odoo import Command, api
from odoo.tools import config

RULES = (
    "milestone_billing.base_automation_task_finished_reach_milestone",
    "milestone_billing.base_automation_milestone_reached_draft_invoice",
)


def make_engagements(env, count, label):
    stage_progress, stage_done = env["project.task.type"].create(
        [
            {"name": f"{label} in progress", "sequence": 1},
            {
                "name": f"{label} done",
                "sequence": 9,
                "fold": True,
                "is_done_stage": True,
            },
        ]
    )
    product = env["product.product"].create(
        {
            "name": f"{label} milestone service",
            "type": "service",
            "invoice_policy": "delivery",
            "service_type": "milestones",
            "list_price": 1000.0,
        }
    )
    partner = env["res.partner"].create({"name": f"{label} customer"})
    orders = env["sale.order"].create(
        [
            {
                "partner_id": partner.id,
                "order_line": [
                    Command.create({"product_id": product.id, "price_unit": 35000.0})
                ],
            }
            for _index in range(count)
        ]
    )
    orders.action_confirm()
    project = env["project.project"].create(
        {
            "name": f"{label} project",
            "partner_id": partner.id,
            "allow_milestones": True,
            "allow_billable": True,
            "type_ids": [Command.set((stage_progress | stage_done).ids)],
        }
    )
    milestones = env["project.milestone"].create(
        [
            {
                "name": f"{label} phase {index}",
                "project_id": project.id,
                "sale_line_id": order.order_line.id,
                "quantity_percentage": 1.0,
            }
            for index, order in enumerate(orders)
        ]
    )
    tasks = env["project.task"].create(
        [
            {
                "name": f"{label} task {index}",
                "project_id": project.id,
                "milestone_id": milestone.id,
                "stage_id": stage_progress.id,
            }
            for index, milestone in enumerate(milestones)
        ]
    )
    env.flush_all()
    env.cr.flush()
    return stage_done, orders, milestones, tasks


class Meter:
    def __init__(self, cr):
        self.cr = cr
        self.queries = 0
        self.seconds = 0.0

    def __enter__(self):
        self._queries = self.cr.sql_log_count
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds += time.perf_counter() - self._start
        self.queries += self.cr.sql_log_count - self._queries


def fresh_env(cr, uid):
    """A new ORM transaction (cache, environments), as each HTTP request gets,
    on the same database transaction."""
    cr.flush()
    cr.transaction = api.Transaction(cr.transaction.registry)
    return api.Environment(cr, uid, {})


class Requests:
    """Each call is one request, measured up to what COMMIT runs first."""

    def __init__(self, env, meter):
        self.cr = env.cr
        self.uid = env.uid
        self.meter = meter

    def __call__(self, work, *records):
        env = fresh_env(self.cr, self.uid)
        with self.meter:
            work(env, *(record.with_env(env) for record in records))
            env.flush_all()
            self.cr.flush()


def auto_one_by_one(env, count, meter):
    stage, _orders, milestones, tasks = make_engagements(env, count, "Auto single")
    request = Requests(env, meter)
    for task in tasks:
        request(lambda _env, task: task.write({"stage_id": stage.id}), task)
    return milestones


def auto_mass(env, count, meter):
    stage, _orders, milestones, tasks = make_engagements(env, count, "Auto mass")
    request = Requests(env, meter)
    request(lambda _env, tasks: tasks.write({"stage_id": stage.id}), tasks)
    return milestones


def create_invoice_from_order(env, order):
    wizard = (
        env["sale.advance.payment.inv"]
        .with_context(active_model="sale.order", active_ids=order.ids)
        .create({"advance_payment_method": "delivered"})
    )
    wizard.create_invoices()


def set_rules_active(env, active):
    for xmlid in RULES:
        env.ref(xmlid).active = active
    env.flush_all()


def native(env, count, meter):
    set_rules_active(env, False)
    stage, orders, milestones, tasks = make_engagements(env, count, "Native")
    request = Requests(env, meter)
    for task, milestone, order in zip(tasks, milestones, orders, strict=True):
        request(lambda _env, task: task.write({"stage_id": stage.id}), task)
        request(lambda _env, ms: ms.write({"is_reached": True}), milestone)
        request(create_invoice_from_order, order)
    set_rules_active(fresh_env(env.cr, env.uid), True)
    return milestones


def count_invoices(milestones):
    return len(milestones.sale_line_id.invoice_lines.move_id)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("-n", "--count", type=int, default=100)
    args = parser.parse_args()
    config.parse_config(
        ["-d", args.database, "--addons-path", args.addons_path, "--log-level", "warn"]
    )
    registry = odoo.modules.registry.Registry(args.database)
    results = []
    with closing(registry.cursor()) as cr:
        uid = api.Environment(cr, odoo.SUPERUSER_ID, {}).ref("base.user_admin").id
        # Warm-up, so no scenario pays for the first loading of caches.
        auto_one_by_one(fresh_env(cr, uid), 2, Meter(cr))
        native(fresh_env(cr, uid), 2, Meter(cr))
        for name, scenario in (
            ("native: task Done, milestone reached, Create Invoice", native),
            ("auto: one task write each", auto_one_by_one),
            (f"auto: one mass write of {args.count} tasks", auto_mass),
        ):
            meter = Meter(cr)
            milestones = scenario(fresh_env(cr, uid), args.count, meter)
            invoices = count_invoices(milestones.with_env(fresh_env(cr, uid)))
            assert invoices == args.count, (
                f"{name}: {invoices} invoices for {args.count} milestones"
            )
            results.append(
                (name, meter.queries / invoices, meter.seconds * 1000 / invoices)
            )
        cr.rollback()
    base_queries, base_ms = results[0][1], results[0][2]
    print(f"{args.count} milestones, one invoice each (Odoo {odoo.release.version})")
    header = ("scenario", "queries/inv", "ms/inv", "q ratio", "ms ratio")
    print("{:<55} {:>11} {:>8} {:>8} {:>8}".format(*header))
    for name, queries, ms in results:
        ratios = (queries / base_queries, ms / base_ms)
        print(
            f"{name:<55} {queries:>11.1f} {ms:>8.1f}"
            f" {ratios[0]:>8.2f} {ratios[1]:>8.2f}"
        )


if __name__ == "__main__":
    main()
