/**
 * The run journal, secret `<secretPrefix>/_dns-journal`: what a run cut off mid-way (the Lambda
 * timeout, a crash) leaves for the next run to finish. DNS values presented and not yet removed,
 * and ACM certificates this tool retired that could not be deleted yet (ACM updates `InUseBy`
 * some time after a listener lets go of a certificate). Written only when it changes.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { CURRENT, type SecretsStore } from '../store/secrets-store.js';
import type { TxtRecord } from './types.js';

/** An ACM certificate to delete once nothing uses it. */
export interface Retired {
  region: string;
  arn: string;
}

interface JournalDocument {
  records?: TxtRecord[];
  retired?: Retired[];
}

export class Journal {
  /** DNS values an earlier run presented and nobody has removed yet. */
  records: TxtRecord[] = [];
  /** ACM certificates waiting to be deleted. */
  retired: Retired[] = [];
  private saved: string;

  constructor(
    private readonly store: SecretsStore,
    private readonly logger: Logger,
    text: string | undefined,
  ) {
    try {
      const doc = JSON.parse(text ?? '{}') as JournalDocument;
      if (Array.isArray(doc.records)) this.records = doc.records;
      if (Array.isArray(doc.retired)) this.retired = doc.retired;
    } catch {
      // An unreadable journal is replaced by the next write; nothing in it can be acted on.
    }
    this.saved = this.serialize([]);
  }

  private serialize(presenting: TxtRecord[]): string {
    return JSON.stringify({ records: [...this.records, ...presenting], retired: this.retired });
  }

  /**
   * Writes the journal, with `presenting` (values this run is about to present) added, unless
   * it would not change. Returns false when the write failed: the run goes on, only a hard stop
   * would then leave something behind.
   */
  async save(presenting: TxtRecord[] = []): Promise<boolean> {
    const text = this.serialize(presenting);
    if (text === this.saved) return true;
    try {
      await this.store.write(this.store.journalSecretName(), text, CURRENT);
      this.saved = text;
      return true;
    } catch (error) {
      this.logger.warn('journal not written', { error: (error as Error).message });
      return false;
    }
  }
}
