"""CGRateS-compatible CDR exporter: RSR rules, field ids, templates and file writers (no database here)."""

from .fields import ValueFormat, cgrid, field_text, field_value, format_go_time, parse_time
from .formats import (
    ExportError,
    ExportRecordError,
    ExportSummary,
    csv_record,
    export_file_name,
    format_field_width,
    write_export,
)
from .rsr import RSRError, RSRField, parse_rsr, parse_rsr_list, validate_rsr
from .templates import (
    BUILTIN_TEMPLATES,
    CGR_CSV_TEMPLATE,
    ExportField,
    ExportTemplate,
    TemplateError,
    load_cdre_profile,
    template_from_rsr_list,
    validate_cdre_profile,
)

__all__ = [
    "BUILTIN_TEMPLATES",
    "CGR_CSV_TEMPLATE",
    "ExportError",
    "ExportField",
    "ExportRecordError",
    "ExportSummary",
    "ExportTemplate",
    "RSRError",
    "RSRField",
    "TemplateError",
    "ValueFormat",
    "cgrid",
    "csv_record",
    "export_file_name",
    "field_text",
    "field_value",
    "format_field_width",
    "format_go_time",
    "load_cdre_profile",
    "parse_rsr",
    "parse_rsr_list",
    "parse_time",
    "template_from_rsr_list",
    "validate_cdre_profile",
    "validate_rsr",
    "write_export",
]
