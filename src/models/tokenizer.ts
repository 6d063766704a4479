/**
 * Text tokenisation for text-conditioned models (SAM3's concept prompts), through the maintained
 * `@huggingface/tokenizers` library loading the model's own tokenizer.json — no hand-written BPE here.
 *
 * SAM3's text encoder is CLIP's: BPE with `<|startoftext|> … <|endoftext|>` added by the post-processor,
 * fixed length 32, padded with the end-of-text id (49407), attention mask 1 on real tokens. The Rust
 * tokenizer applies padding/truncation from settings the JS library does not read, so they are applied here:
 * truncation keeps the first L − 1 tokens and the final token of the encoding (the end-of-text marker of the
 * template), matching "truncate the text, then add the special tokens".
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { DioramaError } from '../core/errors';

export interface TextTokenizerOptions {
  /** Sequence length fed to the text encoder. Default 32 (SAM3). */
  maxLength?: number;
  /**
   * Padding id. Default: tokenizer.json's `padding.pad_id` when present, else the id of `<|endoftext|>`
   * when the vocabulary has it (CLIP), else 0.
   */
  padId?: number;
}

/** A batch of encoded texts, row-major [count, length], ready for int64 model inputs. */
export interface TokenBatch {
  count: number;
  length: number;
  ids: BigInt64Array;
  attentionMask: BigInt64Array;
  /** The tokens of each text (for messages and debugging), without padding. */
  tokens: string[][];
}

/** A tokenizer.json (+ optional tokenizer_config.json) wrapped with fixed-length batch encoding. */
export class TextTokenizer {
  readonly maxLength: number;
  readonly padId: number;
  private readonly tok: Tokenizer;

  /**
   * @param tokenizerJson the parsed tokenizer.json (or its text)
   * @param config the parsed tokenizer_config.json, when available (default {})
   */
  constructor(tokenizerJson: object | string, config: object = {}, options: TextTokenizerOptions = {}) {
    let json: Record<string, unknown>;
    try {
      json = typeof tokenizerJson === 'string' ? (JSON.parse(tokenizerJson) as Record<string, unknown>) : (tokenizerJson as Record<string, unknown>);
    } catch (e) {
      throw new DioramaError('DECODE_FAILED', `tokenizer.json is not valid JSON: ${(e as Error).message}`, { cause: e });
    }
    if (!json || typeof json !== 'object' || !json.model) {
      throw new DioramaError('DECODE_FAILED', `tokenizer.json has no 'model' section; expected a Hugging Face tokenizers file`);
    }
    try {
      this.tok = new Tokenizer(json, config);
    } catch (e) {
      throw new DioramaError('DECODE_FAILED', `tokenizer.json could not be loaded: ${(e as Error).message}`, { cause: e });
    }
    const maxLength = options.maxLength ?? 32;
    if (!Number.isInteger(maxLength) || maxLength < 2) throw new DioramaError('INVALID_OPTION', `tokenizer maxLength must be an integer ≥ 2; found ${maxLength}`);
    this.maxLength = maxLength;
    const padding = json.padding as { pad_id?: number } | null | undefined;
    this.padId = options.padId ?? padding?.pad_id ?? this.tok.token_to_id('<|endoftext|>') ?? 0;
  }

  /** Encodes texts (with the tokenizer's special tokens) to fixed-length ids and attention masks. */
  encodeBatch(texts: readonly string[]): TokenBatch {
    const L = this.maxLength;
    const ids = new BigInt64Array(texts.length * L).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(texts.length * L);
    const tokens: string[][] = [];
    texts.forEach((text, t) => {
      if (typeof text !== 'string') throw new DioramaError('INVALID_OPTION', `text ${t} must be a string; found ${typeof text}`);
      const enc = this.tok.encode(text);
      let seq = enc.ids;
      let toks = enc.tokens;
      if (seq.length > L) {
        seq = [...seq.slice(0, L - 1), seq[seq.length - 1]!];
        toks = [...toks.slice(0, L - 1), toks[toks.length - 1]!];
      }
      for (let i = 0; i < seq.length; i++) {
        ids[t * L + i] = BigInt(seq[i]!);
        attentionMask[t * L + i] = 1n;
      }
      tokens.push(toks);
    });
    return { count: texts.length, length: L, ids, attentionMask, tokens };
  }
}
