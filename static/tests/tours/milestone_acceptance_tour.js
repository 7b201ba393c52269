/** @odoo-module */

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("milestone_billing_client_acceptance_tour", {
    url: "/my/milestones",
    steps: () => [
        {
            content: "Open the milestone waiting for the client",
            trigger: "a:contains('Strategy phase 2')",
            run: "click",
        },
        {
            content: "The deliverables are shown",
            trigger: ".o_milestone_acceptance_page:contains('Target operating model')",
        },
        {
            content: "Accept and sign",
            trigger: "a.o_milestone_accept",
            run: "click",
        },
        {
            content: "Pick a signature style",
            trigger: ".modal .o_web_sign_auto_select_style button",
            run: "click",
        },
        {
            content: "Use the fourth style",
            trigger: ".o-dropdown-item:eq(3)",
            run: "click",
        },
        {
            content: "Send the acceptance",
            trigger: ".modal .o_portal_sign_submit:enabled",
            run: "click",
        },
        {
            content: "The milestone is accepted",
            trigger: ".alert-success:contains('the milestone is accepted')",
        },
    ],
});
