/**
 * @module errors
 * One class per failure kind, each with a stable `code` to branch on (as undici and fastify do) and a
 * message that says what failed, the value involved and what to do about it.
 */

export class IncusDnsError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** A setting has a value we cannot use. `setting` is the environment variable name. */
export class ConfigError extends IncusDnsError {
  readonly setting: string
  constructor(setting: string, message: string, options?: ErrorOptions) {
    super('INCUS_DNS_ERR_CONFIG', message, options)
    this.setting = setting
  }
}

/** Several settings were wrong; start-up prints one line per problem. */
export class ConfigErrors extends IncusDnsError {
  readonly problems: readonly ConfigError[]
  constructor(problems: readonly ConfigError[]) {
    super('INCUS_DNS_ERR_CONFIG', problems.map((p) => p.message).join('\n'))
    this.problems = problems
  }
}

/** A zone file could not be parsed; the message starts with `file:line:`. */
export class ZoneFileError extends IncusDnsError {
  readonly file: string
  readonly line: number
  readonly problem: string
  /** The $INCLUDE lines that led to `file`, innermost first. */
  readonly includedFrom: readonly { readonly file: string; readonly line: number }[]
  constructor(file: string, line: number, problem: string, includedFrom: readonly { readonly file: string; readonly line: number }[] = []) {
    const chain = includedFrom.length === 0 ? '' : ` (included from ${includedFrom.map((w) => `${w.file}:${w.line}`).join(', from ')})`
    super('INCUS_DNS_ERR_ZONE_FILE', `${file}:${line}: ${problem}${chain}`)
    this.file = file
    this.line = line
    this.problem = problem
    this.includedFrom = includedFrom
  }
}

/** A record or zone handed to the store breaks a rule of the zone model (bad name, outside every zone, ...). */
export class ZoneDataError extends IncusDnsError {
  constructor(message: string) {
    super('INCUS_DNS_ERR_ZONE_DATA', message)
  }
}

/** A listener could not be opened. */
export class ListenError extends IncusDnsError {
  constructor(message: string, options?: ErrorOptions) {
    super('INCUS_DNS_ERR_LISTEN', message, options)
  }
}

/** Incus could not be reached at all: socket missing or forbidden, connection refused, TLS failure. */
export class IncusUnreachableError extends IncusDnsError {
  constructor(message: string, options?: ErrorOptions) {
    super('INCUS_DNS_ERR_INCUS_UNREACHABLE', message, options)
  }
}

/** Incus answered but does not trust us (403, or `auth: untrusted` on /1.0). */
export class IncusAuthError extends IncusDnsError {
  constructor(message: string, options?: ErrorOptions) {
    super('INCUS_DNS_ERR_INCUS_AUTH', message, options)
  }
}

/** Incus answered with an error status (4xx/5xx other than 403). */
export class IncusApiError extends IncusDnsError {
  readonly status: number
  readonly path: string
  constructor(status: number, path: string, message: string) {
    super('INCUS_DNS_ERR_INCUS_API', message)
    this.status = status
    this.path = path
  }
}

/** Incus (or something in its place) sent what is not the API's JSON: bad JSON, wrong shape. */
export class IncusProtocolError extends IncusDnsError {
  constructor(message: string, options?: ErrorOptions) {
    super('INCUS_DNS_ERR_INCUS_PROTOCOL', message, options)
  }
}
