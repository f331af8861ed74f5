"""The CNN for sentence classification of Kim, "Convolutional neural networks for
sentence classification", EMNLP 2014.

A sentence of L word indices becomes an L x 300 matrix of word vectors; 100
filters for each window of h = 3, 4 and 5 words slide along it (a Conv1d over
the embedding channels), each feature map is reduced to its maximum over time,
and the 300 maxima go through dropout 0.5 to a fully connected softmax layer.
The paper also constrains the fully connected weights to an l2 norm of at most
3, which is a training rule, not part of the network.

Modes (Sec. 3.1): 'non-static' fine-tunes the word vectors (CNN-rand is this
mode without pretrained ``embeddings``), 'static' keeps them frozen, and
'multichannel' has two tables, a frozen one and a fine-tuned one, both
initialised with the same vectors, with every filter applied to both channels
and the results added.  The frozen tables are parameters with
``requires_grad=False``.  With MR's vocabulary of 18,765 words (Kim, Table 1):
5,990,402 parameters (360,902 outside the embeddings); multichannel 11,619,902.
"""
from .. import nn
from ..autograd import OpError, concat, tensor
from .registry import register

__all__ = ["KimCNN", "kim_cnn"]

MODES = ("static", "non-static", "multichannel")


class KimCNN(nn.Module):
    """Kim's CNN: embeddings, Conv1d windows with ReLU, max-over-time pooling, dropout, linear.

    ``embeddings``, if given, is an array (vocab_size, embed_dim) of pretrained
    word vectors (word2vec in the paper) copied into the table(s).
    x: word indices (N, L) with L >= the widest window -> logits (N, num_classes).
    """

    def __init__(self, vocab_size=18765, embed_dim=300, num_classes=2, mode="non-static",
                 windows=(3, 4, 5), num_filters=100, dropout=0.5, embeddings=None):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"kim_cnn: mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.windows = tuple(windows)
        self.embed = nn.Embedding(vocab_size, embed_dim)
        tables = [self.embed]
        if mode == "multichannel":
            self.embed_static = nn.Embedding(vocab_size, embed_dim)
            tables.append(self.embed_static)
        if embeddings is not None:
            for table in tables:
                table.weight.data[...] = tensor(embeddings, dtype=table.weight.dtype,
                                                device=table.weight.device).data
        if mode != "non-static":
            tables[-1].weight.requires_grad = False     # 'static': the only table; else the second
        self.convs = nn.ModuleList([nn.Conv1d(embed_dim, num_filters, h) for h in self.windows])
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(num_filters * len(self.windows), num_classes)

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] < max(self.windows):
            raise OpError(f"kim_cnn: expected word indices (N, L) with L >= {max(self.windows)} "
                          f"(the widest window; pad shorter sentences), got shape {x.shape}")
        # A filter w applied to both channels and added is w * e1 + w * e2 + b = w * (e1 + e2) + b,
        # so the multichannel model convolves the sum of its two embeddings.
        words = self.embed(x)
        if self.mode == "multichannel":
            words = words + self.embed_static(x)
        words = words.transpose(1, 2)  # (N, embed_dim, L): the embedding dimensions are the channels
        pooled = [self.relu(conv(words)).max(axis=2) for conv in self.convs]
        return self.fc(self.dropout(concat(pooled, axis=1)))


@register
def kim_cnn(vocab_size=18765, embed_dim=300, num_classes=2, mode="non-static", windows=(3, 4, 5),
            num_filters=100, dropout=0.5, embeddings=None):
    """Kim 2014's sentence CNN; ``mode`` 'static', 'non-static' or 'multichannel'; see :class:`KimCNN`."""
    return KimCNN(vocab_size, embed_dim, num_classes, mode, windows, num_filters, dropout, embeddings)
