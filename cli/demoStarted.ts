/** What the demo has started, stopped in reverse order on every way out (done, failed, interrupted). */
export class Started {
  private readonly stops: { label?: string; stop: () => Promise<void> }[] = [];

  /**
   * `label` names it in the line an interruption prints; unlabelled ones go without saying. Returns
   * what to call once it has ended by itself (then it is neither named nor stopped).
   */
  add(stop: () => Promise<void>, label?: string): () => void {
    const entry = { stop, ...(label ? { label } : {}) };
    this.stops.push(entry);
    return () => {
      const at = this.stops.indexOf(entry);
      if (at >= 0) this.stops.splice(at, 1);
    };
  }

  /** "the backfill, the worker and the Temporal dev server" (what runs, last started first). */
  describe(): string {
    const labels = this.stops.flatMap((s) => (s.label ? [s.label] : [])).reverse();
    return labels.length <= 1 ? (labels[0] ?? "") : `${labels.slice(0, -1).join(", ")} and ${labels.at(-1)}`;
  }

  /** Stop everything; a stop that fails is told in one line and does not keep the others from running. */
  async stopAll(): Promise<void> {
    for (let next = this.stops.pop(); next; next = this.stops.pop()) {
      try {
        await next.stop();
      } catch (error) {
        console.error(`could not stop ${next.label ?? "a connection"}: ${(error as Error).message.split("\n")[0]}`);
      }
    }
  }
}
