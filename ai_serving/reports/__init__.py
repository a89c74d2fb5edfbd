"""Reports: what a plan says, read from plan documents only (plan.json, summary.json).

planfile (the plan.json document), terminal (rich), markdown (the pull-request report), diagram
(Mermaid), diff (between two plan output directories). Imports neither engine nor org, so a report
or a diff never loads the Pulumi runtime.
"""
