/**
 * Runs submitted items in groups, one group at a time: the items submitted in one turn of the
 * event loop run together once it ends, and those submitted while a group runs wait and run
 * together as the next group (at most `maxGroup` of them). So a quiet server answers as soon as it can, and a busy one pays one
 * transaction (one commit, one wait for each lock) per group instead of one per item.
 *
 * `run` answers each item of its group in order: a value, or an Error for that item alone.
 * When `run` throws, every item of its group gets that error. Items are held only while their
 * submitters wait for them (no queue of its own beyond them).
 */
export interface GroupCommit<I, O> {
  submit(item: I): Promise<O>;
}

export function createGroupCommit<I, O>(options: {
  maxGroup: number;
  run(items: readonly I[]): Promise<readonly (O | Error)[]>;
}): GroupCommit<I, O> {
  const waiting: { item: I; resolve(value: O): void; reject(error: unknown): void }[] = [];
  let running = false;

  const drain = async (): Promise<void> => {
    try {
      while (waiting.length > 0) {
        const group = waiting.splice(0, options.maxGroup);
        let answers: readonly (O | Error)[];
        try {
          answers = await options.run(group.map((one) => one.item));
        } catch (error) {
          for (const one of group) one.reject(error);
          continue;
        }
        group.forEach((one, i) => {
          const answer = answers[i];
          if (answer instanceof Error) one.reject(answer);
          else if (answer === undefined) one.reject(new Error('group commit: no answer'));
          else one.resolve(answer);
        });
      }
    } finally {
      running = false;
    }
  };

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        if (running) return;
        running = true;
        // after the callbacks of this turn of the event loop: the requests that arrived together
        // are one group even when a transaction never yields (SQLite is synchronous)
        setImmediate(() => void drain());
      });
    },
  };
}
