/**
 * Answers the server has given (hover results), kept by an id it issued so that the links in a hover
 * ("Show in panel", "Open document") and the panel's paging refer to them by id, never by text. The most
 * recent ones are kept.
 */
import { randomBytes } from 'node:crypto';
import type { CorpusTexts, InfluenceRequest, InfluenceResult, InfluenceSession } from './engine/api';

export interface StoredAnswer {
  /** The request, kept so that it can be scored again (exactly, or in the panel). */
  request: InfluenceRequest;
  /** Absent while the request waits for "Score exactly". */
  result: InfluenceResult | undefined;
  /** The session that produced it, or that can rescore it (its model, factors and corpus); absent for results of another model or factors. */
  session: InfluenceSession | undefined;
  /** Document texts when there is no session (a results folder's corpus). */
  texts?: CorpusTexts;
  /** Where the prompt came from, for titles. */
  label: string;
}

export class AnswerStore {
  private readonly answers = new Map<string, StoredAnswer>();

  constructor(private readonly keep = 32) {}

  add(answer: StoredAnswer): string {
    const ref = randomBytes(9).toString('base64url');
    this.answers.set(ref, answer);
    while (this.answers.size > this.keep) this.answers.delete(this.answers.keys().next().value!);
    return ref;
  }

  get(ref: unknown): StoredAnswer | undefined {
    return typeof ref === 'string' ? this.answers.get(ref) : undefined;
  }

  /** Replaces a stored answer's result (after "Score exactly"). */
  update(ref: string, result: InfluenceResult): void {
    const a = this.answers.get(ref);
    if (a) a.result = result;
  }

  clear(): void {
    this.answers.clear();
  }
}
