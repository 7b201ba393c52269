#!/usr/bin/env python3
"""Queries and milliseconds per invoice: automatic milestone billing vs. native Odoo.

Runs on a scratch copy of a database where milestone_billing is installed; every
request is a real transaction that commits, as on a server, and the copy is
dropped at the end: nothing is left behind.

    python3 bench/bench_milestone_billing.py -d DB --addons-path PATHS [-n 100]

Scenarios, each billing N finished milestones (one per sales order):
- auto, one write each:  the PM drags each task to Done (one request each);
- auto, one mass write:  the PM moves the N tasks to Done in one mass edit;
- native:                task to Done, milestone marked reached, then
                         "Create Invoice" (regular invoice) on the order.
"""

# pylint: disable=print-used,invalid-commit
# A command-line report (printing is its output) whose requests commit, as a
# server's do, on a scratch database that it drops at the end.
import argparse
import os
import statistics
import time

import odoo
from odoo import Command, api, sql_db
from odoo.service import db
from odoo.tools import config

RULES = (
    "milestone_billing.base_automation_task_finished_reach_milestone",
    "milestone_billing.base_automation_milestone_reached_draft_invoice",
    "milestone_billing.base_automation_milestone_reached_acceptance_request",
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
    return stage_done, orders, milestones, tasks


class Meter:
    """Queries and time of the requests run through it."""

    def __init__(self, registry, uid):
        self.registry = registry
        self.uid = uid
        self.queries = 0
        self.seconds = 0.0

    def setup(self, work):
        """Run ``work(env)`` in its own committed transaction, unmeasured."""
        with self.registry.cursor() as cr:
            return work(api.Environment(cr, self.uid, {}))

    def request(self, work, *records):
        """One HTTP request: ``work(env, *records)``, then COMMIT and its hooks."""
        cr = self.registry.cursor()
        try:
            start_queries, start = cr.sql_log_count, time.perf_counter()
            env = api.Environment(cr, self.uid, {})
            work(env, *(record.with_env(env) for record in records))
            cr.commit()
            self.seconds += time.perf_counter() - start
            self.queries += cr.sql_log_count - start_queries
        finally:
            cr.close()


def auto_one_by_one(meter, count):
    stage, _orders, milestones, tasks = meter.setup(
        lambda env: make_engagements(env, count, "Auto single")
    )
    for task in tasks:
        meter.request(lambda _env, task: task.write({"stage_id": stage.id}), task)
    return milestones


def auto_mass(meter, count):
    stage, _orders, milestones, tasks = meter.setup(
        lambda env: make_engagements(env, count, "Auto mass")
    )
    meter.request(lambda _env, tasks: tasks.write({"stage_id": stage.id}), tasks)
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


def native(meter, count):
    meter.setup(lambda env: set_rules_active(env, False))
    stage, orders, milestones, tasks = meter.setup(
        lambda env: make_engagements(env, count, "Native")
    )
    for task, milestone, order in zip(tasks, milestones, orders, strict=True):
        meter.request(lambda _env, task: task.write({"stage_id": stage.id}), task)
        meter.request(lambda _env, ms: ms.write({"is_reached": True}), milestone)
        meter.request(create_invoice_from_order, order)
    meter.setup(lambda env: set_rules_active(env, True))
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
    parser.add_argument(
        "-r", "--rounds", type=int, default=3, help="rounds; times are their median"
    )
    args = parser.parse_args()
    config.parse_config(["--addons-path", args.addons_path, "--log-level", "warn"])
    scratch = f"{args.database}_bench_{os.getpid()}"
    db.exp_duplicate_database(args.database, scratch)
    try:
        queries, times = run(scratch, args.count, args.rounds)
    finally:
        sql_db.close_db(scratch)
        db.exp_drop(scratch)
    report(args, queries, times)


def run(database, count, rounds):
    registry = odoo.modules.registry.Registry(database)
    uid = Meter(registry, odoo.SUPERUSER_ID).setup(
        lambda env: env.ref("base.user_admin").id
    )
    # Warm-up, so no scenario pays for the first loading of caches.
    auto_one_by_one(Meter(registry, uid), 2)
    native(Meter(registry, uid), 2)
    queries = {}
    times = {name: [] for name, _scenario in SCENARIOS}
    for round_index in range(rounds):
        # Rotate the order so that no scenario always runs on a fuller database.
        shift = round_index % len(SCENARIOS)
        for name, scenario in SCENARIOS[shift:] + SCENARIOS[:shift]:
            meter = Meter(registry, uid)
            milestones = scenario(meter, count)
            invoices = meter.setup(
                lambda env, ms=milestones: count_invoices(ms.with_env(env))
            )
            assert invoices == count, f"{name}: {invoices} invoices for {count}"
            queries[name] = meter.queries / invoices
            times[name].append(meter.seconds * 1000 / invoices)
    return queries, times


SCENARIOS = (
    ("native: task Done, milestone reached, Create Invoice", native),
    ("auto: one task write each", auto_one_by_one),
    ("auto: one mass write of N tasks", auto_mass),
)


def report(args, queries, times):
    median_ms = {name: statistics.median(values) for name, values in times.items()}
    base = SCENARIOS[0][0]
    print(
        f"N = {args.count} milestones, one invoice each; median of {args.rounds}"
        f" rounds (Odoo {odoo.release.version})"
    )
    header = ("scenario", "queries/inv", "ms/inv", "q ratio", "ms ratio")
    print("{:<55} {:>11} {:>8} {:>8} {:>8}".format(*header))
    for name, _scenario in SCENARIOS:
        q_ratio = queries[name] / queries[base]
        ms_ratio = median_ms[name] / median_ms[base]
        print(
            f"{name:<55} {queries[name]:>11.1f} {median_ms[name]:>8.1f}"
            f" {q_ratio:>8.2f} {ms_ratio:>8.2f}"
        )


if __name__ == "__main__":
    main()
