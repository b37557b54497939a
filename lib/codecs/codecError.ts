/** Thrown when stored bytes do not decode with the declared codecs (corrupt data or wrong refs). */
export class CodecError extends Error {
  constructor(
    readonly codec: string,
    detail: string,
  ) {
    super(`${codec}: ${detail}`);
    this.name = "CodecError";
  }
}
