/** @odoo-module */

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("milestone_billing_pm_tour", {
    url: "/odoo/action-project.open_view_project_all",
    steps: () => [
        {
            content: "Open the engagement's project",
            trigger: ".o_kanban_record:contains('Strategy project')",
            run: "click",
        },
        {
            content: "Drag the Phase 2 task to the Done column",
            trigger: ".o_kanban_record:contains('Deliver Strategy phase 2')",
            run: "drag_and_drop(.o_kanban_group:contains('Done'))",
        },
        {
            content: "The task is in the Done column",
            trigger:
                ".o_kanban_group:contains('Done') .o_kanban_record:contains('Deliver Strategy phase 2')",
            run: "click",
        },
        {
            content: "Its milestone already has its draft invoice",
            trigger: ".o_field_widget[name=milestone_billing_state]:contains('Draft Invoice')",
        },
    ],
});

registry.category("web_tour.tours").add("milestone_billing_accountant_tour", {
    url: "/odoo/action-milestone_billing.project_milestone_action_unbilled",
    steps: () => [
        {
            content: "The worklist shows the milestone billed in draft",
            trigger: ".o_data_row:contains('Strategy phase 2'):contains('Draft Invoice') td[name=name]",
            run: "click",
        },
        {
            content: "Open its draft invoice",
            trigger: ".o_form_view button[name=action_view_invoice]",
            run: "click",
        },
        {
            content: "Confirm the draft",
            trigger: ".o_form_view button[name=action_post]",
            run: "click",
        },
        {
            content: "The invoice is posted",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Posted')",
        },
    ],
});
