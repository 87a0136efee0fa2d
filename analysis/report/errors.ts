/** Errors of the incident timeline and report, each carrying its data. */

/** `make incident ID=…` names neither an incident id nor an alarm name the lake has. */
export class IncidentNotFoundError extends Error {
  /** `detail`: what else was looked at (the paging state, the lake's age), said after the lake's answer. */
  constructor(
    readonly id: string,
    readonly detail?: string,
  ) {
    super(
      `no incident "${id}" in the lake (neither an incident id nor an alarm name)${detail ? `; ${detail}` : ''}; ` +
        `list them with make query ` +
        `SQL="SELECT incident_id, alarm_name, opened_at FROM incidents ORDER BY opened_at DESC"`,
    );
    this.name = 'IncidentNotFoundError';
  }
}

/** A report option (FROM, TO) that cannot be read; `option` names it and `value` is what was given. */
export class ReportOptionError extends Error {
  constructor(
    readonly option: string,
    readonly value: string,
    message: string,
  ) {
    super(`${option}=${JSON.stringify(value)}: ${message}`);
    this.name = 'ReportOptionError';
  }
}

/** Rendering one incident's page failed; the report names the incident and keeps the cause. */
export class IncidentPageError extends Error {
  constructor(
    readonly incidentId: string,
    options: { cause: unknown },
  ) {
    super(
      `incident ${incidentId}: page not rendered: ` +
        `${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
      options,
    );
    this.name = 'IncidentPageError';
  }
}

/** ENGINE=athena without the variable that names the workgroup. */
export class LakeConfigError extends Error {
  constructor(readonly variable: string) {
    super(`ENGINE=athena needs ${variable} (and ATHENA_DATABASE)`);
    this.name = 'LakeConfigError';
  }
}
