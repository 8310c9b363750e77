/**
 * An event, event receipt or search filter is not what the format allows. `path` names the field
 * (`actor.id`, `targets[2].type`, `[3].action` in a batch); the message says what is wrong and
 * what would be accepted. Always the fault of whoever wrote the value.
 */
export class EventFormatError extends Error {
  override readonly name: string = 'EventFormatError';
  /** The field at fault, as a path (`actor.id`, `targets[0]`), or '' for the value as a whole. */
  readonly path: string;
  /** @param path the field at fault; @param message what is wrong with it */
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(path === '' ? message : `${path}: ${message}`, options);
    this.path = path;
  }
}

/** An event's canonical form is larger than {@link MAX_EVENT_BYTES}. */
export class EventTooLargeError extends EventFormatError {
  override readonly name: string = 'EventTooLargeError';
  /** The canonical form's size in bytes. */
  readonly bytes: number;
  /** @param bytes the canonical record's size; @param max the most allowed */
  constructor(bytes: number, max: number) {
    super('', `the event's canonical form (RFC 8785) is ${bytes} bytes; the most is ${max}`);
    this.bytes = bytes;
  }
}
