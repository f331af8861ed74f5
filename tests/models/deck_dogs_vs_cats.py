"""The from-scratch GoogLeNet and ResNet of the course's Dogs vs Cats practice deck, as printed there.

This file is PyTorch code and is never imported: ``tests/models/test_deck_code.py``
reads its text and runs it twice, once as is and once with the two import
lines below replaced by ``import minidl as torch`` and ``import minidl.nn as
nn``, which is all it should take to move the deck's code onto minidl.

Changes to the printed code, none of them to its meaning: ``super(Resnet,
self)`` is spelled ``super(ResNet, self)`` (the printed name does not exist,
so the class could not be built in PyTorch either), and the code is laid out
to this repository's line length.  ``forward`` reads the global ``batch_size``,
as the deck's notebook defines it; the test sets it.
"""
import torch
import torch.nn as nn

batch_size = None      # set by the caller, as the deck's notebook sets it before training


# --------------------------------------------------------------------------- #
# GoogLeNet
# --------------------------------------------------------------------------- #
def conv_1(in_dim,out_dim):
    model = nn.Sequential(
        nn.Conv2d(in_dim,out_dim,1,1),
        nn.ReLU(),
    )
    return model

def conv_1_3(in_dim,mid_dim,out_dim):
    model = nn.Sequential(
        nn.Conv2d(in_dim,mid_dim,1,1),
        nn.ReLU(),
        nn.Conv2d(mid_dim,out_dim,3,1,1),
        nn.ReLU()
    )
    return model

def conv_1_5(in_dim,mid_dim,out_dim):
    model = nn.Sequential(
        nn.Conv2d(in_dim,mid_dim,1,1),
        nn.ReLU(),
        nn.Conv2d(mid_dim,out_dim,5,1,2),
        nn.ReLU()
    )
    return model

def max_3_1(in_dim,out_dim):
    model = nn.Sequential(
        nn.MaxPool2d(3,1,1),
        nn.Conv2d(in_dim,out_dim,1,1),
        nn.ReLU(),
    )
    return model

class inception_module(nn.Module):
    def __init__(self,in_dim,out_dim_1,mid_dim_3,out_dim_3,mid_dim_5,out_dim_5,pool):
        super(inception_module,self).__init__()
        self.conv_1 = conv_1(in_dim,out_dim_1)
        self.conv_1_3 = conv_1_3(in_dim,mid_dim_3,out_dim_3)
        self.conv_1_5 = conv_1_5(in_dim,mid_dim_5,out_dim_5)
        self.max_3_1 = max_3_1(in_dim,pool)

    def forward(self,x):
        out_1 = self.conv_1(x)
        out_2 = self.conv_1_3(x)
        out_3 = self.conv_1_5(x)
        out_4 = self.max_3_1(x)
        output = torch.cat([out_1,out_2,out_3,out_4],1)
        return output

class GoogLeNet(nn.Module):
    def __init__(self, base_dim, num_classes=2):
        super(GoogLeNet, self).__init__()
        self.num_classes=num_classes
        self.layer_1 = nn.Sequential(
            nn.Conv2d(3,base_dim,7,2,3),
            nn.MaxPool2d(3,2,1),
            nn.Conv2d(base_dim,base_dim*3,3,1,1),
            nn.MaxPool2d(3,2,1),
        )
        self.layer_2 = nn.Sequential(
            inception_module(base_dim*3,64,96,128,16,32,32),
            inception_module(base_dim*4,128,128,192,32,96,64),
            nn.MaxPool2d(3,2,1),
        )
        self.layer_3 = nn.Sequential(
            inception_module(480,192,96,208,16,48,64),
            inception_module(512,160,112,224,24,64,64),
            inception_module(512,128,128,256,24,64,64),
            inception_module(512,112,144,288,32,64,64),
            inception_module(528,256,160,320,32,128,128),
            nn.MaxPool2d(3,2,1),
        )
        self.layer_4 = nn.Sequential(
            inception_module(832,256,160,320,32,128,128),
            inception_module(832,384,192,384,48,128,128),
            nn.AvgPool2d(7,1),
        )
        self.layer_5 = nn.Dropout2d(0.4)
        self.fc_layer = nn.Linear(1024,self.num_classes)

    def forward(self, x):
        out = self.layer_1(x)
        out = self.layer_2(out)
        out = self.layer_3(out)
        out = self.layer_4(out)
        out = self.layer_5(out)
        out = out.view(batch_size,-1)
        out = self.fc_layer(out)
        return out


# --------------------------------------------------------------------------- #
# ResNet
# --------------------------------------------------------------------------- #
def conv_block_1(in_dim, out_dim, act_fn, stride=1):
    model = nn.Sequential(nn.Conv2d(in_dim, out_dim, kernel_size=1, stride=stride),
                           act_fn)

    return model

def conv_block_3(in_dim, out_dim, act_fn):
    model = nn.Sequential(nn.Conv2d(in_dim, out_dim, kernel_size=3, stride=1, padding=1),
                           act_fn)

    return model

class BottleNeck(nn.Module):
    def __init__(self, in_dim, mid_dim, out_dim, act_fn, down=False):
        super(BottleNeck, self).__init__()
        self.act_fn = act_fn
        self.down = down

        if self.down:
            self.layer = nn.Sequential(conv_block_1(in_dim, mid_dim, act_fn, 2),
                                       conv_block_3(mid_dim, mid_dim, act_fn),
                                       conv_block_1(mid_dim, out_dim, act_fn))
            self.downsample = nn.Conv2d(in_dim, out_dim, 1, 2)

        else:
            self.layer = nn.Sequential(conv_block_1(in_dim, mid_dim, act_fn),
                                       conv_block_3(mid_dim, mid_dim, act_fn),
                                       conv_block_1(mid_dim, out_dim, act_fn))

        self.dim_equalizer = nn.Conv2d(in_dim, out_dim, kernel_size=1)

    def forward(self, x):
        if self.down:
            downsample = self.downsample(x)
            out = self.layer(x)
            out = out + downsample
        else:
            out = self.layer(x)
            if x.size() is not out.size():
                x = self.dim_equalizer(x)
            out = out + x
        return out

class ResNet(nn.Module):
    def __init__(self, base_dim, num_classes=2):
        super(ResNet, self).__init__()

        self.act_fn = nn.ReLU()

        self.layer_1 = nn.Sequential(nn.Conv2d(3, base_dim, 7, 2, 3),
                                       nn.ReLU(),
                                       nn.MaxPool2d(3, 2, 1))

        self.layer_2 = nn.Sequential(BottleNeck(base_dim, base_dim, base_dim*4, self.act_fn),
                                       BottleNeck(base_dim*4, base_dim, base_dim*4, self.act_fn),
                                       BottleNeck(base_dim*4, base_dim, base_dim*4, self.act_fn, down=True),)

        self.layer_3 = nn.Sequential(BottleNeck(base_dim*4, base_dim*2, base_dim*8, self.act_fn),
                                       BottleNeck(base_dim*8, base_dim*2, base_dim*8, self.act_fn),
                                       BottleNeck(base_dim*8, base_dim*2, base_dim*8, self.act_fn),
                                       BottleNeck(base_dim*8, base_dim*2, base_dim*8, self.act_fn,
                                                  down=True),)

        self.layer_4 = nn.Sequential(BottleNeck(base_dim*8, base_dim*4, base_dim*16, self.act_fn),
                                       BottleNeck(base_dim*16, base_dim*4, base_dim*16, self.act_fn),
                                       BottleNeck(base_dim*16, base_dim*4, base_dim*16, self.act_fn),
                                       BottleNeck(base_dim*16, base_dim*4, base_dim*16, self.act_fn),
                                       BottleNeck(base_dim*16, base_dim*4, base_dim*16, self.act_fn),
                                       BottleNeck(base_dim*16, base_dim*4, base_dim*16, self.act_fn,
                                                  down=True),)

        self.layer_5 = nn.Sequential(BottleNeck(base_dim*16, base_dim*8, base_dim*32, self.act_fn),
                                       BottleNeck(base_dim*32, base_dim*8, base_dim*32, self.act_fn),
                                       BottleNeck(base_dim*32, base_dim*8, base_dim*32, self.act_fn),)

        self.avgpool = nn.AvgPool2d(7, 1)

        self.fc_layer = nn.Linear(base_dim*32, num_classes)

    def forward(self, x):
        out = self.layer_1(x)
        out = self.layer_2(out)
        out = self.layer_3(out)
        out = self.layer_4(out)
        out = self.layer_5(out)
        out = self.avgpool(out)
        out = out.view(batch_size, -1)
        out = self.fc_layer(out)
        return out
