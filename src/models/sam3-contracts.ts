/**
 * Declared interfaces (contracts) of the SAM3 ONNX graphs Diorama drives. The runtime matches a loaded
 * session against these (names with aliases, dtypes, shapes with symbolic dims) and fails with
 * MODEL_CONTRACT naming what was expected and what was found.
 *
 * Tracker (point/box prompts; onnx-community/sam3-tracker-ONNX, the transformers.js `Sam3TrackerModel`
 * layout): two graphs.
 *   vision_encoder:              pixel_values f32 [B,3,1008,1008] → image_embeddings.0/1/2
 *                                (SAM2-style multi-level features: [B,32,288,288], [B,64,144,144],
 *                                [B,256,72,72] at 1008² — channel counts are left symbolic here because they
 *                                were not verified on the real file; the adapter only passes them through)
 *   prompt_encoder_mask_decoder: image_embeddings.0/1/2 + input_points f32 [B,N,P,2] (pixels of the 1008²
 *                                input) + input_labels i64 [B,N,P] (1 positive, 0 negative, -1 not-a-point,
 *                                -10 padding) + input_boxes f32 [B,NB,4] (x0,y0,x1,y1 pixels, NB = N or 0)
 *                                → iou_scores f32 [B,N,3], pred_masks f32 [B,N,3,256,256] (logits),
 *                                  object_score_logits f32 [B,N,1]
 *
 * Detector (text concepts): the public three-graph export of jamjamjon/usls (scripts/sam3-image,
 * "v2": vision-encoder / text-encoder / geo-encoder-mask-decoder, made from transformers' Sam3Model).
 *   vision encoder: images f32 [B,3,1008,1008] → fpn_feat_0 [B,256,288,288], fpn_feat_1 [B,256,144,144],
 *                   fpn_feat_2 [B,256,72,72], fpn_pos_2 [B,256,72,72]
 *   text encoder:   input_ids i64 [T,32], attention_mask i64 [T,32] → text_features f32 [T,32,256],
 *                   text_mask bool [T,32]
 *   decoder:        fpn_feat_0/1/2, fpn_pos_2, text_features [B,32,256], text_mask [B,32],
 *                   input_boxes f32 [B,NB,4] (normalised cx,cy,w,h), input_boxes_labels i64 [B,NB]
 *                   (1/0, -10 = no box) → pred_masks [B,200,288,288] (logits), pred_boxes [B,200,4]
 *                   (normalised x0,y0,x1,y1), pred_logits [B,200] (some exports [B,200,1]),
 *                   presence_logits [B,1]
 */
import type { ModelContract } from './runtime';

const contract = (c: ModelContract): ModelContract => Object.freeze(c);

export const SAM3_TRACKER_VISION_CONTRACT: ModelContract = contract({
  id: 'sam3-tracker-vision-encoder',
  inputs: [{ name: 'pixel_values', aliases: ['images', 'image'], types: ['float32'], shapes: [['B', 3, 1008, 1008]] }],
  outputs: [
    { name: 'image_embeddings.0', aliases: ['image_embeddings_0', 'high_res_feats_0'], types: ['float32'], shapes: [['B', 'C0', 288, 288]] },
    { name: 'image_embeddings.1', aliases: ['image_embeddings_1', 'high_res_feats_1'], types: ['float32'], shapes: [['B', 'C1', 144, 144]] },
    { name: 'image_embeddings.2', aliases: ['image_embeddings_2', 'image_embed'], types: ['float32'], shapes: [['B', 'C2', 72, 72]] },
  ],
});

export const SAM3_TRACKER_DECODER_CONTRACT: ModelContract = contract({
  id: 'sam3-tracker-decoder',
  inputs: [
    { name: 'image_embeddings.0', aliases: ['image_embeddings_0', 'high_res_feats_0'], types: ['float32'], shapes: [['B', 'C0', 288, 288]] },
    { name: 'image_embeddings.1', aliases: ['image_embeddings_1', 'high_res_feats_1'], types: ['float32'], shapes: [['B', 'C1', 144, 144]] },
    { name: 'image_embeddings.2', aliases: ['image_embeddings_2', 'image_embed'], types: ['float32'], shapes: [['B', 'C2', 72, 72]] },
    { name: 'input_points', types: ['float32'], shapes: [['B', 'N', 'P', 2]] },
    { name: 'input_labels', types: ['int64'], shapes: [['B', 'N', 'P']] },
    { name: 'input_boxes', types: ['float32'], shapes: [['B', 'NB', 4]] },
  ],
  outputs: [
    { name: 'iou_scores', types: ['float32'], shapes: [['B', 'N', 'M']] },
    { name: 'pred_masks', types: ['float32'], shapes: [['B', 'N', 'M', 'h', 'w']] },
    { name: 'object_score_logits', types: ['float32'], shapes: [['B', 'N', 1]], optional: true },
  ],
});

export const SAM3_DETECTOR_VISION_CONTRACT: ModelContract = contract({
  id: 'sam3-detector-vision-encoder',
  inputs: [{ name: 'images', aliases: ['pixel_values'], types: ['float32'], shapes: [['B', 3, 1008, 1008]] }],
  outputs: [
    { name: 'fpn_feat_0', types: ['float32'], shapes: [['B', 'C', 288, 288]] },
    { name: 'fpn_feat_1', types: ['float32'], shapes: [['B', 'C', 144, 144]] },
    { name: 'fpn_feat_2', types: ['float32'], shapes: [['B', 'C', 72, 72]] },
    { name: 'fpn_pos_2', types: ['float32'], shapes: [['B', 'C', 72, 72]] },
  ],
});

export const SAM3_TEXT_ENCODER_CONTRACT: ModelContract = contract({
  id: 'sam3-text-encoder',
  inputs: [
    { name: 'input_ids', types: ['int64'], shapes: [['T', 'L']] },
    { name: 'attention_mask', types: ['int64'], shapes: [['T', 'L']] },
  ],
  outputs: [
    { name: 'text_features', types: ['float32'], shapes: [['T', 'L', 'D']] },
    { name: 'text_mask', types: ['bool', 'int64'], shapes: [['T', 'L']] },
  ],
});

export const SAM3_DETECTOR_DECODER_CONTRACT: ModelContract = contract({
  id: 'sam3-detector-decoder',
  inputs: [
    { name: 'fpn_feat_0', types: ['float32'], shapes: [['B', 'C', 288, 288]] },
    { name: 'fpn_feat_1', types: ['float32'], shapes: [['B', 'C', 144, 144]] },
    { name: 'fpn_feat_2', types: ['float32'], shapes: [['B', 'C', 72, 72]] },
    { name: 'fpn_pos_2', types: ['float32'], shapes: [['B', 'C', 72, 72]] },
    { name: 'text_features', aliases: ['prompt_features'], types: ['float32'], shapes: [['B', 'L', 'D']] },
    { name: 'text_mask', aliases: ['prompt_mask'], types: ['bool', 'int64'], shapes: [['B', 'L']] },
    { name: 'input_boxes', types: ['float32'], shapes: [['B', 'NB', 4]] },
    { name: 'input_boxes_labels', types: ['int64'], shapes: [['B', 'NB']] },
  ],
  outputs: [
    { name: 'pred_masks', types: ['float32'], shapes: [['B', 'Q', 'h', 'w']] },
    { name: 'pred_boxes', types: ['float32'], shapes: [['B', 'Q', 4]] },
    { name: 'pred_logits', types: ['float32'], shapes: [['B', 'Q'], ['B', 'Q', 1]] },
    { name: 'presence_logits', types: ['float32'], shapes: [['B', 1], ['B']] },
  ],
});
